/**
 * Registering a workflow's functions with Durable Functions: each activity under its name, run
 * through withErrorCode so deltavault's error code reaches the orchestrator; and the workflow's
 * HTTP routes as durable client functions (`authLevel: function`), whose errors are answered as
 * RFC 9457 problems (src/http/problem.ts).
 */
import type { HttpMethod, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { answerWithProblems } from '../http/problem';
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

/** What a workflow's HTTP route does with a request, given a durable client; whatever it throws becomes a problem response. */
export type ClientRouteWork = (request: HttpRequest, client: df.DurableClient, context: InvocationContext) => Promise<HttpResponseInit>;

/** Registers function `name` for `method` on `route` (under /api), with a durable client and `authLevel: function`. */
export function registerClientRoute(name: string, method: HttpMethod, route: string, work: ClientRouteWork): void {
  df.app.client.http(name, {
    methods: [method],
    authLevel: 'function',
    route,
    handler: (request, client, context) => answerWithProblems(context, () => work(request, client, context)),
  });
}
