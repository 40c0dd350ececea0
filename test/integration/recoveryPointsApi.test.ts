/**
 * The recovery-point routes' logic (src/api/recoveryPointsApi.ts) against real recovery points:
 * the engine backs up a page blob on Azurite twice, then the handlers are called as the
 * Functions host would call them (route params, query) and their answers checked: status,
 * shapes, problem+json for every error.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { HttpResponseInit } from '@azure/functions';
import type { ContainerClient } from '@azure/storage-blob';
import { recoveryPointsApi, type ApiRequest } from '../../src/api/recoveryPointsApi';
import { runBackup } from '../../src/backup/runBackup';
import { listRecoveryPoints, readRecoveryPoint } from '../../src/catalog/recoveryPoints';
import { PageBlobSource } from '../../src/disks/pageBlobSource';
import type { Problem } from '../../src/http/problem';
import { readBlockHashes } from '../../src/vault/blockHashList';
import { hashListExpectation, type RecoveryPointSummary } from '../../src/vault/manifest';
import { VaultDisk } from '../../src/vault/vaultDisk';
import { BLOCK_BYTES } from '../../src/vault/vaultLayout';
import { writePattern } from '../support/diskData';
import { freshContainer, testBlobService } from '../support/storage';

const DISK_KEY = 'vm1-os';
const DISK_BYTES = 6 * BLOCK_BYTES + 8 * 512; // the last block is partial

let container: ContainerClient;
/** Oldest first. */
let pointIds: string[];

function request(params: Record<string, string>, query = ''): ApiRequest {
  return { params, query: new URLSearchParams(query) };
}

function context(): { invocationId: string; error: jest.Mock } {
  return { invocationId: randomUUID(), error: jest.fn() };
}

async function bodyText(res: HttpResponseInit): Promise<string> {
  const body = res.body;
  if (typeof body === 'string') return body;
  if (body && typeof body === 'object' && Symbol.asyncIterator in body) {
    const parts: Buffer[] = [];
    for await (const part of body as AsyncIterable<Uint8Array>) parts.push(Buffer.from(part));
    return Buffer.concat(parts).toString('utf8');
  }
  throw new Error(`unexpected body ${typeof body}`);
}

async function expectProblem(res: HttpResponseInit, status: number, code: string): Promise<Problem> {
  expect(res.status).toBe(status);
  expect(res.headers).toEqual({ 'content-type': 'application/problem+json' });
  const problem = JSON.parse(await bodyText(res)) as Problem;
  expect(problem).toMatchObject({ status, code, type: expect.stringMatching(/^https:\/\/www\.rfc-editor\.org\/rfc\/rfc9110#section-/) });
  expect(typeof problem.title).toBe('string');
  expect(typeof problem.detail).toBe('string');
  return problem;
}

beforeAll(async () => {
  container = await freshContainer('rpapi');
  const disk = container.getPageBlobClient('sources/vm1-os.vhd');
  await disk.create(DISK_BYTES);
  const source = new PageBlobSource(container, disk);
  const vault = new VaultDisk(container, DISK_KEY);
  await writePattern(disk, 0, BLOCK_BYTES, (at) => `a${at}`);
  await writePattern(disk, 2 * BLOCK_BYTES + 4096, 64 * 1024, (at) => `b${at}`);
  await runBackup(source, vault, 'api-job-1');
  await writePattern(disk, 3 * BLOCK_BYTES, 2 * BLOCK_BYTES, (at) => `c${at}`);
  await disk.clearPages(0, 4096);
  await writePattern(disk, 6 * BLOCK_BYTES, 8 * 512, (at) => `d${at}`);
  await runBackup(source, vault, 'api-job-2');
  pointIds = (await listRecoveryPoints(vault)).map((p) => p.id).reverse();
  expect(pointIds).toHaveLength(2);
});

afterAll(async () => {
  await container?.delete();
});

describe('GET /api/disks/{diskKey}/recovery-points', () => {
  test('200: the summaries, newest first, without where the hashes live', async () => {
    const ctx = context();
    const res = await recoveryPointsApi(container).listRecoveryPoints(request({ diskKey: DISK_KEY }), ctx);
    expect(res.status).toBe(200);
    const points = res.jsonBody as RecoveryPointSummary[];
    expect(points.map((p) => p.id)).toEqual([...pointIds].reverse());
    const [newest, oldest] = points as [RecoveryPointSummary, RecoveryPointSummary];
    expect(newest).toMatchObject({
      version: 1,
      diskKey: DISK_KEY,
      jobId: 'api-job-2',
      mode: 'incremental',
      previousRecoveryPointId: oldest.id,
      sizeBytes: DISK_BYTES,
      source: { kind: 'pageBlob', description: expect.stringMatching(/\/sources\/vm1-os\.vhd$/) },
      blocks: { sizeBytes: BLOCK_BYTES, count: expect.any(Number) },
    });
    expect(oldest).toMatchObject({ mode: 'full', previousRecoveryPointId: null, jobId: 'api-job-1' });
    for (const p of points) expect(Object.keys(p.blocks).sort()).toEqual(['count', 'sizeBytes']);
    // The answer is JSON through and through (no Dates, no Buffers).
    expect(JSON.parse(JSON.stringify(points))).toEqual(points);
    expect(ctx.error).not.toHaveBeenCalled();
  });

  test('200: a point whose manifest cannot be read is listed in its place with its error; the others still show', async () => {
    const damaged = await freshContainer('rpapi-unreadable');
    try {
      const disk = damaged.getPageBlobClient('d.vhd');
      await disk.create(2 * BLOCK_BYTES);
      const vault = new VaultDisk(damaged, 'dmg');
      const ids: string[] = [];
      for (const job of ['u-1', 'u-2', 'u-3']) {
        await writePattern(disk, 0, 4096, (at) => `${job}${at}`);
        ids.push((await runBackup(new PageBlobSource(damaged, disk), vault, job)).recoveryPoint.id);
      }
      // The middle point's manifest is of a version this deltavault does not know.
      const name = `disks/dmg/points/${ids[1]}.json`;
      const manifest = JSON.parse((await damaged.getBlockBlobClient(name).downloadToBuffer()).toString('utf8')) as Record<string, unknown>;
      const text = JSON.stringify({ ...manifest, version: 99 });
      await damaged.getBlockBlobClient(name).upload(text, text.length);

      const res = await recoveryPointsApi(damaged).listRecoveryPoints(request({ diskKey: 'dmg' }), context());
      expect(res.status).toBe(200);
      const body = res.jsonBody as { id: string; error?: { code: string; message: string } }[];
      expect(body.map((p) => p.id)).toEqual([...ids].reverse());
      expect(body[1]).toEqual({ id: ids[1], createdAt: expect.any(String), error: { code: 'MANIFEST_INVALID', message: expect.stringContaining('version') } });
      expect(body[0]!.error).toBeUndefined();
      expect(body[2]!.error).toBeUndefined();
    } finally {
      await damaged.delete();
    }
  });

  test('200 []: a disk the vault does not know, and a vault container not made yet', async () => {
    const api = recoveryPointsApi(container);
    expect(await api.listRecoveryPoints(request({ diskKey: 'never-backed-up' }), context())).toEqual({ status: 200, jsonBody: [] });
    const missing = testBlobService().getContainerClient(`absent-${randomUUID()}`);
    expect(await recoveryPointsApi(() => missing).listRecoveryPoints(request({ diskKey: DISK_KEY }), context())).toEqual({ status: 200, jsonBody: [] });
  });

  test('400 problem: a malformed disk key', async () => {
    const api = recoveryPointsApi(container);
    for (const diskKey of ['VM1', 'vm1_os', '-vm1', 'x'.repeat(64), '']) {
      const problem = await expectProblem(await api.listRecoveryPoints(request({ diskKey }), context()), 400, 'INVALID_ARGUMENT');
      expect(problem.detail).toMatch(/^disk key: /);
    }
  });
});

describe('GET /api/recovery-points/{id}', () => {
  test('200: the manifest summary, equal to the listing entry, without hashes', async () => {
    const api = recoveryPointsApi(container);
    const id = pointIds[1] as string;
    const res = await api.getRecoveryPoint(request({ id }), context());
    expect(res.status).toBe(200);
    const listed = ((await api.listRecoveryPoints(request({ diskKey: DISK_KEY }), context())).jsonBody as RecoveryPointSummary[])[0];
    expect(res.jsonBody).toEqual(listed);
    expect(res.jsonBody).not.toHaveProperty('hashes');
    expect(await api.getRecoveryPoint(request({ id }, 'hashes=false&code=some-function-key'), context())).toEqual(res);
  });

  test('?hashes=true: the summary plus every block hash, [{ index, sha256 }], matching the data', async () => {
    const api = recoveryPointsApi(container);
    for (const id of pointIds) {
      const res = await api.getRecoveryPoint(request({ id }, 'hashes=true'), context());
      expect(res.status).toBe(200);
      expect(res.headers).toEqual({ 'content-type': 'application/json; charset=utf-8' });
      const body = JSON.parse(await bodyText(res)) as RecoveryPointSummary & { hashes: { index: number; sha256: string }[] };
      const { hashes, ...summary } = body;
      expect(summary).toEqual((await api.getRecoveryPoint(request({ id }), context())).jsonBody);
      expect(hashes).toHaveLength(summary.blocks.count);
      const manifest = await readRecoveryPoint(container, id);
      const expected: { index: number; sha256: string }[] = [];
      for await (const r of readBlockHashes(container, manifest.blocks.blob, hashListExpectation(manifest))) {
        expected.push({ index: r.index, sha256: r.hash.toString('hex') });
      }
      expect(hashes).toEqual(expected);
      // Each hash is the SHA-256 of its block of the recovery point's data (the vault snapshot).
      const snapshot = container.getPageBlobClient(manifest.vault.baseBlob).withSnapshot(manifest.vault.snapshot);
      for (const h of hashes) {
        const start = h.index * BLOCK_BYTES;
        const data = await snapshot.downloadToBuffer(start, Math.min(BLOCK_BYTES, manifest.sizeBytes - start));
        expect(createHash('sha256').update(data).digest('hex')).toBe(h.sha256);
      }
    }
  });

  test('the hash list streams in parts of a bounded size, whatever the part size, as one JSON document', async () => {
    const id = pointIds[1] as string;
    const whole = JSON.parse(await bodyText(await recoveryPointsApi(container).getRecoveryPoint(request({ id }, 'hashes=true'), context())));
    const count = (whole.hashes as unknown[]).length;
    expect(count).toBeGreaterThanOrEqual(4);
    for (const hashesPerPart of [1, 2, 3, count - 1, count, count + 1]) {
      const res = await recoveryPointsApi(container, { hashesPerPart }).getRecoveryPoint(request({ id }, 'hashes=true'), context());
      const parts: Buffer[] = [];
      for await (const part of res.body as AsyncIterable<Uint8Array>) parts.push(Buffer.from(part));
      // The summary, ⌈count / perPart⌉ full or partial parts, and the closing part.
      expect(parts.length).toBeGreaterThanOrEqual(1 + Math.floor(count / hashesPerPart));
      expect(JSON.parse(Buffer.concat(parts).toString('utf8'))).toEqual(whole);
    }
  });

  test('404 problem: a well-formed id that names no recovery point', async () => {
    const ctx = context();
    const problem = await expectProblem(
      await recoveryPointsApi(container).getRecoveryPoint(request({ id: `${DISK_KEY}.20000101T000000000Z` }), ctx),
      404,
      'NOT_FOUND',
    );
    expect(problem.detail).toBe(`recovery point '${DISK_KEY}.20000101T000000000Z' does not exist`);
    expect(problem.instance).toBe(`urn:uuid:${ctx.invocationId}`);
    expect(ctx.error).not.toHaveBeenCalled();
  });

  test('400 problem: a malformed id, and a hashes value other than true/false', async () => {
    const api = recoveryPointsApi(container);
    for (const id of ['nope', `${DISK_KEY}.20241301T000000000Z`, `VM1.20240101T000000000Z`, `${DISK_KEY}.2024-01-01`]) {
      await expectProblem(await api.getRecoveryPoint(request({ id }), context()), 400, 'INVALID_ARGUMENT');
    }
    const problem = await expectProblem(await api.getRecoveryPoint(request({ id: pointIds[0] as string }, 'hashes=yes'), context()), 400, 'INVALID_ARGUMENT');
    expect(problem.errors).toEqual([{ parameter: 'hashes', detail: "must be 'true' or 'false'" }]);
  });

  test('500 problem, not a cut-off 200: a damaged hash list', async () => {
    const damaged = await freshContainer('rpapi-damaged');
    try {
      const disk = damaged.getPageBlobClient('d.vhd');
      await disk.create(2 * BLOCK_BYTES);
      await writePattern(disk, 0, 2 * BLOCK_BYTES, (at) => `e${at}`);
      const { recoveryPoint } = await runBackup(new PageBlobSource(damaged, disk), new VaultDisk(damaged, 'dmg'), 'dmg-job');
      const manifest = await readRecoveryPoint(damaged, recoveryPoint.id);
      const list = damaged.getBlockBlobClient(manifest.blocks.blob);
      const bytes = await list.downloadToBuffer();
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
      await list.upload(bytes, bytes.length);

      const api = recoveryPointsApi(damaged);
      expect((await api.getRecoveryPoint(request({ id: recoveryPoint.id }), context())).status).toBe(200);
      const ctx = context();
      const problem = await expectProblem(await api.getRecoveryPoint(request({ id: recoveryPoint.id }, 'hashes=true'), ctx), 500, 'MANIFEST_INVALID');
      expect(problem.detail).toMatch(/does not match the SHA-256 recorded in its manifest/);
      expect(ctx.error).toHaveBeenCalledTimes(1);
    } finally {
      await damaged.delete();
    }
  });
});
