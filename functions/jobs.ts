/**
 * HTTP: the job history (CONTRACT.md `GET /api/jobs`). Registration only; src/api/jobsApi.ts
 * does the work over the table the job-events consumer (jobEvents.ts) keeps.
 */
import { app } from '@azure/functions';
import { jobsApi } from '../src/api/jobsApi';
import { appJobsTable } from '../src/jobs/jobsTable';

export const FUNCTION_NAMES = {
  listJobs: 'listJobs',
} as const;

const api = jobsApi(appJobsTable());

app.http(FUNCTION_NAMES.listJobs, {
  methods: ['GET'],
  authLevel: 'function',
  route: 'jobs',
  handler: (request, context) => api.listJobs(request, context),
});
