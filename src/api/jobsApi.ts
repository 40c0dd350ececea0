/**
 * The job-history route of the HTTP API (CONTRACT.md), as a plain function of a request's query,
 * so it runs without the Functions runtime:
 *
 *   GET /api/jobs[?disk=<diskKey>][&status=running|succeeded|failed|skipped][&since=<ISO 8601>][&limit=<1-1000>]
 *
 * answers 200 with the jobs the events consumer recorded (src/jobs/jobHistory.ts), newest first
 * by start time: `since` keeps the jobs started at or after it, `limit` (default 100) the newest
 * that many. An empty parameter counts as absent; other parameters (such as `code`, the function
 * key) are ignored. A malformed parameter is a 400 problem naming it. functions/jobs.ts registers it.
 */
import type { HttpResponseInit } from '@azure/functions';
import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';
import { answerWithProblems, problemFromZod, problemResponse, type ProblemContext } from '../http/problem';
import { listJobs } from '../jobs/jobHistory';
import { JOB_STATUSES } from '../jobs/jobRecord';
import { assertDiskKey } from '../vault/vaultLayout';
import type { ApiRequest } from './recoveryPointsApi';

export const DEFAULT_JOBS_LIMIT = 100;
export const MAX_JOBS_LIMIT = 1000;

const blankIsAbsent = (v: unknown): unknown => (v === '' ? undefined : v);

const isDiskKey = (s: string): boolean => {
  try {
    assertDiskKey(s);
    return true;
  } catch {
    return false;
  }
};

export const jobsQuerySchema = z.object({
  disk: z.preprocess(blankIsAbsent, z.string().refine(isDiskKey, { error: 'must be a disk key: 1-63 lowercase letters, digits or inner hyphens' }).optional()),
  status: z.preprocess(blankIsAbsent, z.enum(JOB_STATUSES, { error: `must be one of ${JOB_STATUSES.join(', ')}` }).optional()),
  since: z.preprocess(
    blankIsAbsent,
    z.iso
      .datetime({ offset: true, local: false, error: 'must be an ISO 8601 date-time with a time zone, such as 2024-03-05T00:00:00Z' })
      .transform((s) => new Date(s))
      .optional(),
  ),
  limit: z.preprocess(
    blankIsAbsent,
    z
      .string()
      .regex(/^\d{1,4}$/, { error: `must be a whole number from 1 to ${MAX_JOBS_LIMIT}` })
      .transform(Number)
      .refine((n) => n >= 1 && n <= MAX_JOBS_LIMIT, { error: `must be a whole number from 1 to ${MAX_JOBS_LIMIT}` })
      .optional(),
  ),
});

export interface JobsApi {
  listJobs(request: Pick<ApiRequest, 'query'>, context: ProblemContext): Promise<HttpResponseInit>;
}

/** The handler, over the job-history table (given, or built on first use). */
export function jobsApi(jobsTable: TableClient | (() => TableClient)): JobsApi {
  const table = typeof jobsTable === 'function' ? jobsTable : () => jobsTable;
  return {
    listJobs: (request, context) =>
      answerWithProblems(context, async () => {
        const query = jobsQuerySchema.safeParse(Object.fromEntries(request.query));
        if (!query.success) return problemResponse(problemFromZod(query.error, 'query', context));
        const { disk, status, since, limit } = query.data;
        const jobs = await listJobs(table(), {
          ...(disk !== undefined ? { disk } : {}),
          ...(status !== undefined ? { status } : {}),
          ...(since !== undefined ? { since } : {}),
          limit: limit ?? DEFAULT_JOBS_LIMIT,
        });
        return { status: 200, jsonBody: jobs };
      }),
  };
}
