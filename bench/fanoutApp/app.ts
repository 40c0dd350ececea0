/**
 * The devhost benchmark's app (not deltavault): an HTTP starter and an orchestration that fans
 * out N no-op activities with Task.all. Loaded only by the devhost that devhostBench.ts starts.
 */
import { type HttpRequest, type HttpResponseInit } from '@azure/functions';
import * as df from 'durable-functions';
import type { OrchestrationContext } from 'durable-functions';

df.app.activity('BenchNoop', { handler: () => null });

df.app.orchestration('BenchFanOut', function* (context: OrchestrationContext) {
  const n = context.df.getInput<number>();
  const tasks = [];
  for (let i = 0; i < n; i++) tasks.push(context.df.callActivity('BenchNoop'));
  yield context.df.Task.all(tasks);
  return n;
});

df.app.client.http('BenchStart', {
  route: 'bench/{instanceId}',
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: async (request: HttpRequest, client: df.DurableClient): Promise<HttpResponseInit> => {
    const instanceId = await client.startNew('BenchFanOut', { instanceId: request.params.instanceId, input: Number(await request.text()) });
    return client.createCheckStatusResponse(request, instanceId);
  },
});
