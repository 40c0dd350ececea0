/**
 * Registering a workflow's activities with Durable Functions: each activity under its name,
 * run through withErrorCode so deltavault's error code reaches the orchestrator.
 */
import * as df from 'durable-functions';
import { withErrorCode } from './activities';
import { outcomeOf } from './outcome';

export function registerActivities<K extends string>(
  names: Readonly<Record<K, string>>,
  activities: { [P in K]: (input: never) => Promise<unknown> },
  /** Activities whose permanent failures are returned as outcomes (src/workflows/outcome.ts); their orchestrator unwraps them. */
  outcomes: readonly K[] = [],
): void {
  for (const key of Object.keys(names) as K[]) {
    const run = activities[key];
    const handler = outcomes.includes(key)
      ? (input: unknown) => withErrorCode(() => outcomeOf(() => run(input as never)))
      : (input: unknown) => withErrorCode(() => run(input as never));
    df.app.activity(names[key], { handler });
  }
}
