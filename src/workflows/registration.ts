/**
 * Registering a workflow's activities with Durable Functions: each activity under its name,
 * run through withErrorCode so deltavault's error code reaches the orchestrator.
 */
import * as df from 'durable-functions';
import { withErrorCode } from './activities';

export function registerActivities<K extends string>(names: Readonly<Record<K, string>>, activities: { [P in K]: (input: never) => Promise<unknown> }): void {
  for (const key of Object.keys(names) as K[]) {
    const run = activities[key];
    df.app.activity(names[key], { handler: (input: unknown) => withErrorCode(() => run(input as never)) });
  }
}
