/**
 * Queue: the job-events consumer. Every message on the events queue (DELTAVAULT_EVENTS_QUEUE,
 * default `deltavault-events`) is one CloudEvent; src/jobs/jobHistory.ts records it in the job
 * history, idempotently by event id and in any order. A message that is not a job event fails
 * every attempt and, after host.json's `maxDequeueCount`, goes to `<queue>-poison`.
 *
 * `connection: 'DELTAVAULT_VAULT'` is resolved by the host as bindings are: the setting
 * `AzureWebJobsDELTAVAULT_VAULT`, then `DELTAVAULT_VAULT` (a connection string), or in Azure the
 * identity-based `DELTAVAULT_VAULT__queueServiceUri` (+ `__credential`, `__clientId`). The queue
 * name is the validated setting itself (not `%DELTAVAULT_EVENTS_QUEUE%`), so its default applies
 * when the setting is absent, as everywhere else in deltavault.
 */
import { app } from '@azure/functions';
import { SETTINGS, appSettings } from '../src/config/settings';
import { applyEvent } from '../src/jobs/jobHistory';
import { appJobsTable } from '../src/jobs/jobsTable';

export const FUNCTION_NAMES = {
  recordJobEvent: 'recordJobEvent',
} as const;

const table = appJobsTable();

app.storageQueue(FUNCTION_NAMES.recordJobEvent, {
  queueName: appSettings().eventsQueue,
  connection: SETTINGS.vault,
  handler: async (message, context) => {
    const { event, applied, job } = await applyEvent(table, message);
    context.log(`${event.type} ${event.id} of job '${job.jobId}' (disk '${job.diskKey}'): ${applied ? 'recorded' : 'already recorded'}; job ${job.status}`);
  },
});
