/**
 * The recovery-point routes of the HTTP API (CONTRACT.md), as plain functions of a request's
 * route parameters and query, so they run without the Functions runtime:
 *
 *   GET /api/disks/{diskKey}/recovery-points   the disk's recovery points, newest first (summaries)
 *   GET /api/recovery-points/{id}[?hashes=true] one manifest summary; with hashes=true also the
 *                                               per-block SHA-256 list, `hashes: [{ index, sha256 }]`
 *
 * A malformed disk key or id is a 400 problem, an unknown id a 404; an unknown disk has no
 * recovery points (200, []). functions/recoveryPoints.ts registers them.
 *
 * The hash list is read twice for `?hashes=true`: once through to check it (count, order, its
 * SHA-256 in the manifest), so a damaged list is a 500 problem rather than a 200 cut off midway,
 * then as the body, generated in parts so this code holds one part at a time. (Without
 * `app.setup({ enableHttpStream: true })` the Functions worker still collects the whole body
 * before sending it: about 100 bytes per allocated MiB of disk.)
 */
import type { HttpResponseInit } from '@azure/functions';
import type { ContainerClient } from '@azure/storage-blob';
import { z } from 'zod';
import { listRecoveryPointsChecked, newestFirst, readRecoveryPoint, type UnreadablePoint } from '../catalog/recoveryPoints';
import { errors, isDeltavaultError, storageCode } from '../errors';
import { answerWithProblems, problemFromZod, problemResponse, type ProblemContext } from '../http/problem';
import { checkBlockHashes, readBlockHashes } from '../vault/blockHashList';
import { hashListExpectation, summarize, type Manifest } from '../vault/manifest';
import { VaultDisk } from '../vault/vaultDisk';

/** The parts of an HTTP request these handlers read (an @azure/functions HttpRequest has them). */
export interface ApiRequest {
  readonly params: Readonly<Record<string, string | undefined>>;
  readonly query: URLSearchParams;
}

export interface RecoveryPointsApi {
  listRecoveryPoints(request: ApiRequest, context: ProblemContext): Promise<HttpResponseInit>;
  getRecoveryPoint(request: ApiRequest, context: ProblemContext): Promise<HttpResponseInit>;
}

/** `?hashes=true|false`; other query parameters (such as `code`, the function key) are ignored. */
const recoveryPointQuerySchema = z.object({
  hashes: z.enum(['true', 'false'], { error: "must be 'true' or 'false'" }).optional(),
});

export interface RecoveryPointsApiOptions {
  /** Hash records per part of the streamed `?hashes=true` body (≈ 100 bytes of JSON each; default 1024). */
  hashesPerPart?: number;
}

/** The handlers, over the vault container (given, or built on first use). */
export function recoveryPointsApi(vault: ContainerClient | (() => ContainerClient), options: RecoveryPointsApiOptions = {}): RecoveryPointsApi {
  const container = typeof vault === 'function' ? vault : () => vault;
  const hashesPerPart = Math.max(1, options.hashesPerPart ?? 1024);
  return {
    listRecoveryPoints: (request, context) =>
      answerWithProblems(context, async () => {
        const disk = new VaultDisk(container(), request.params.diskKey ?? '');
        return { status: 200, jsonBody: await listOrEmpty(disk) };
      }),

    getRecoveryPoint: (request, context) =>
      answerWithProblems(context, async () => {
        const query = recoveryPointQuerySchema.safeParse(Object.fromEntries(request.query));
        if (!query.success) return problemResponse(problemFromZod(query.error, 'query', context));
        const manifest = await readRecoveryPoint(container(), request.params.id ?? '');
        if (query.data.hashes !== 'true') return { status: 200, jsonBody: summarize(manifest) };
        // Read the list through once first: a damaged list is a problem answer, not a cut-off 200.
        await checkBlockHashes(container(), manifest.blocks.blob, hashListExpectation(manifest));
        return {
          status: 200,
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: summaryWithHashes(container(), manifest, hashesPerPart),
        };
      }),
  };
}

/**
 * A disk without recovery points, or a vault container not made yet, lists as []. A point whose
 * manifest cannot be read is listed in its place as `{ id, createdAt, error }`, so the others
 * still show (and restore).
 */
async function listOrEmpty(disk: VaultDisk): Promise<(ReturnType<typeof summarize> | UnreadablePoint)[]> {
  try {
    const { points, unreadable } = await listRecoveryPointsChecked(disk);
    return [...points, ...unreadable].sort(newestFirst);
  } catch (e) {
    if (storageCode(e) === 'ContainerNotFound') return [];
    if (isDeltavaultError(e)) throw e;
    throw errors.storage(`listing the recovery points of disk '${disk.diskKey}'`, e);
  }
}

/** The manifest summary with `hashes` appended, as JSON text streamed from the hash-list blob. */
async function* summaryWithHashes(container: ContainerClient, manifest: Manifest, perPart: number): AsyncGenerator<Buffer> {
  const summary = JSON.stringify(summarize(manifest));
  yield Buffer.from(`${summary.slice(0, -1)},"hashes":[`);
  let batch: string[] = [];
  let first = true;
  for await (const record of readBlockHashes(container, manifest.blocks.blob, hashListExpectation(manifest))) {
    batch.push(`{"index":${record.index},"sha256":"${record.hash.toString('hex')}"}`);
    if (batch.length === perPart) {
      yield Buffer.from(`${first ? '' : ','}${batch.join(',')}`);
      first = false;
      batch = [];
    }
  }
  yield Buffer.from(`${batch.length > 0 && !first ? ',' : ''}${batch.join(',')}]}`);
}
