/**
 * `npm run bench`: measures the delta engine on a real Azurite (persisting to a temporary
 * folder), everything in one run, and prints ratios between figures of that same run:
 *   - the raw ceilings: parallel 4 MiB Put Page and Get Blob throughput, and the combined
 *     read+write copy ceiling 1 / (1/put + 1/get);
 *   - a full backup, incremental backups with 1 % and 10 % of the disk changed, a restore,
 *     all of a sparse 1 GiB disk; and a full backup of an 8 GiB disk for memory.
 * Each backup and restore runs in its own process (benchWorker.ts) so its peak RSS is its own.
 * Then the local Functions host's orchestration overhead (devhostBench.ts).
 * Writes bench/results.json in the shape CONTRACT.md fixes.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { BlobServiceClient, ContainerClient, PageBlobClient } from '@azure/storage-blob';
import { startAzurite } from '../src/devhost/azuriteLauncher';
import { ByteRange, normalize, totalBytes } from '../src/ranges/byteRange';
import { forEachBounded } from '../src/util/boundedPool';
import { measureDevhost } from './devhostBench';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const PUT_BYTES = 4 * MiB;
const CONCURRENCY = 8;
const DISK_BYTES = 1 * GiB;
const LARGE_DISK_BYTES = 8 * GiB;
/** Share of the sparse disks that holds data. */
const ALLOCATED_SHARE = 0.25;

const pool = randomBytes(32 * MiB);
let poolAt = 0;
function someBytes(length: number): Buffer {
  if (poolAt + length > pool.length) poolAt = 0;
  const out = pool.subarray(poolAt, poolAt + length);
  poolAt += 4096 + 512;
  return out;
}

let seed = 42;
function random(): number {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
}
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

/** Writes random extents (64 KiB – 4 MiB, page aligned) until `bytes` distinct bytes changed; returns them. */
async function writeExtents(blob: PageBlobClient, diskBytes: number, bytes: number, sizes: number[]): Promise<ByteRange[]> {
  let written: ByteRange[] = [];
  const extents: ByteRange[] = [];
  while (totalBytes(written) < bytes) {
    const size = pick(sizes);
    const start = Math.floor((random() * (diskBytes - size)) / 65536) * 65536;
    extents.push({ start, end: start + size });
    written = normalize([...written, { start, end: start + size }]);
  }
  await forEachBounded(extents, CONCURRENCY, async (e) => {
    for (let at = e.start; at < e.end; at += PUT_BYTES) {
      const length = Math.min(PUT_BYTES, e.end - at);
      await blob.uploadPages(someBytes(length), at, length);
    }
  });
  return written;
}

async function ceilings(container: ContainerClient): Promise<{ put: number; get: number }> {
  const blob = container.getPageBlobClient('ceiling.vhd');
  const total = 512 * MiB;
  await blob.create(total);
  const offsets = Array.from({ length: total / PUT_BYTES }, (_, i) => i * PUT_BYTES);
  let t = performance.now();
  await forEachBounded(offsets, CONCURRENCY, async (o) => {
    await blob.uploadPages(someBytes(PUT_BYTES), o, PUT_BYTES);
  });
  const put = total / MiB / ((performance.now() - t) / 1000);
  const buffers = Array.from({ length: CONCURRENCY }, () => Buffer.allocUnsafe(PUT_BYTES));
  t = performance.now();
  await forEachBounded(offsets, CONCURRENCY, async (o) => {
    const buffer = buffers.pop()!;
    await blob.downloadToBuffer(buffer, o, PUT_BYTES, { blockSize: PUT_BYTES, concurrency: 1 });
    buffers.push(buffer);
  });
  const get = total / MiB / ((performance.now() - t) / 1000);
  await blob.delete();
  return { put, get };
}

interface WorkerResult {
  wallMs: number;
  peakRssMiB: number;
  totals?: { bytesWritten: number; bytesRead: number; putPageCalls: number; bytesCleared: number };
  plan?: { mode: string; fidelity: string; bytes: { changed: number } };
  recoveryPointId?: string;
  bytesWritten?: number;
}

function worker(task: Record<string, unknown>): Promise<WorkerResult> {
  const script = path.join(__dirname, 'benchWorker.js');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, JSON.stringify({ concurrency: CONCURRENCY, ...task })], { maxBuffer: 16 * MiB }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`bench worker failed: ${stderr || error.message}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as WorkerResult);
    });
  });
}

const mibps = (bytes: number, ms: number): number => bytes / MiB / (ms / 1000);
const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

async function main(): Promise<void> {
  const folder = mkdtempSync(path.join(tmpdir(), 'deltavault-bench-'));
  const azurite = await startAzurite({ location: folder });
  try {
    const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
    const container = service.getContainerClient(`bench-${Date.now()}`);
    await container.create();
    const cs = azurite.connectionString;
    const base = { connectionString: cs, container: container.containerName };
    console.log('measuring raw ceilings (512 MiB of parallel 4 MiB Put Page, then Get Blob)…');
    const ceiling = await ceilings(container);
    const readWrite = 1 / (1 / ceiling.put + 1 / ceiling.get);

    console.log(`building a sparse ${DISK_BYTES / GiB} GiB disk (${ALLOCATED_SHARE * 100} % allocated)…`);
    const disk = container.getPageBlobClient('vm/os.vhd');
    await disk.create(DISK_BYTES);
    await writeExtents(disk, DISK_BYTES, DISK_BYTES * ALLOCATED_SHARE, [64 * 1024, 256 * 1024, MiB, 4 * MiB]);

    // Two chains of the same disk: `os` as deltavault runs on Azurite (its diff is a superset, so an
    // incremental reads every allocated byte), `osx` given the exact diff Azure would report.
    console.log('full backup…');
    const full = await worker({ ...base, kind: 'backup', diskBlob: disk.name, diskKey: 'os', jobId: 'bench-full' });
    const fullExact = await worker({ ...base, kind: 'backup', diskBlob: disk.name, diskKey: 'osx', jobId: 'bench-full-x' });
    const changeSizes = [64 * 1024, 256 * 1024, MiB];
    const diffFile = path.join(folder, 'written.json');
    const incremental = async (share: number, label: string): Promise<{ changed: number; superset: WorkerResult; exact: WorkerResult }> => {
      console.log(`incremental backups, ${label} changed…`);
      const written = await writeExtents(disk, DISK_BYTES, DISK_BYTES * share, changeSizes);
      writeFileSync(diffFile, JSON.stringify(written.map((r) => [r.start, r.end])));
      const superset = await worker({ ...base, kind: 'backup', diskBlob: disk.name, diskKey: 'os', jobId: `bench-${label}` });
      const exact = await worker({ ...base, kind: 'backup', diskBlob: disk.name, diskKey: 'osx', jobId: `bench-${label}-x`, exactDiffFile: diffFile });
      return { changed: totalBytes(written), superset, exact };
    };
    const one = await incremental(0.01, '1pct');
    const ten = await incremental(0.1, '10pct');
    const [changed1, inc1, inc1x] = [one.changed, one.superset, one.exact];
    const [changed10, inc10, inc10x] = [ten.changed, ten.superset, ten.exact];
    console.log('restore of the newest recovery point…');
    const restore = await worker({ ...base, kind: 'restore', recoveryPointId: inc10.recoveryPointId, target: 'restores/os.vhd' });

    console.log(`full backup of a sparse ${LARGE_DISK_BYTES / GiB} GiB disk (memory)…`);
    const large = container.getPageBlobClient('vm/data.vhd');
    await large.create(LARGE_DISK_BYTES);
    await writeExtents(large, LARGE_DISK_BYTES, LARGE_DISK_BYTES * ALLOCATED_SHARE * 0.5, [MiB, 4 * MiB]);
    const largeFull = await worker({ ...base, kind: 'backup', diskBlob: large.name, diskKey: 'data', jobId: 'bench-large' });

    console.log('devhost: 1,000 no-op activities fanned out, then the same with a SIGKILL and restart midway…');
    const devhost = await measureDevhost(cs);

    const fullMoved = full.totals!.bytesWritten;
    const metrics = {
      putPageCeilingMiBps: round(ceiling.put),
      getCeilingMiBps: round(ceiling.get),
      readWriteCeilingMiBps: round(readWrite),
      fullBackupMiBps: round(mibps(fullMoved, full.wallMs)),
      incremental1pctMiBps: round(mibps(inc1.totals!.bytesWritten, inc1.wallMs)),
      incremental10pctMiBps: round(mibps(inc10.totals!.bytesWritten, inc10.wallMs)),
      restoreMiBps: round(mibps(restore.bytesWritten!, restore.wallMs)),
      incrementalVsCeiling: round(mibps(changed1, inc1.wallMs) / readWrite, 3),
      incremental1pctSpeedup: round(full.wallMs / inc1.wallMs),
      transferAmplification: round(inc1.totals!.bytesWritten / changed1, 3),
      putPagesPerIdeal: round(inc1.totals!.putPageCalls / Math.ceil(changed1 / PUT_BYTES), 2),
      peakRssMiB: round(Math.max(full.peakRssMiB, inc1.peakRssMiB, inc10.peakRssMiB, restore.peakRssMiB), 1),
      peakRssMiBLargeDisk: round(largeFull.peakRssMiB, 1),
      devhostMsPerActivity: round(devhost.msPerActivity),
      devhostMsPerActivityWithRestart: round(devhost.msPerActivityWithRestart),
    };

    const rows: [string, string, string][] = [
      ['Put Page ceiling (4 MiB, ×8)', `${metrics.putPageCeilingMiBps} MiB/s`, ''],
      ['Get Blob ceiling (4 MiB, ×8)', `${metrics.getCeilingMiBps} MiB/s`, ''],
      ['read+write ceiling', `${metrics.readWriteCeilingMiBps} MiB/s`, ''],
      ['full backup, 1 GiB sparse', `${metrics.fullBackupMiBps} MiB/s`, `${round(metrics.fullBackupMiBps / readWrite)} × ceiling; ${round(fullMoved / MiB, 0)} MiB in ${round(full.wallMs / 1000)} s`],
      ['incremental, 1 % changed', `${metrics.incremental1pctMiBps} MiB/s`, `${round(metrics.incremental1pctMiBps / readWrite)} × ceiling; ${round(changed1 / MiB, 1)} MiB changed in ${round(inc1.wallMs / 1000)} s`],
      ['incremental, 10 % changed', `${metrics.incremental10pctMiBps} MiB/s`, `${round(metrics.incremental10pctMiBps / readWrite)} × ceiling; ${round(changed10 / MiB, 1)} MiB changed in ${round(inc10.wallMs / 1000)} s`],
      ['restore', `${metrics.restoreMiBps} MiB/s`, `${round(metrics.restoreMiBps / readWrite)} × ceiling`],
      ['incremental (changed bytes) ÷ ceiling', String(metrics.incrementalVsCeiling), 'target ≥ 0.8'],
      ['1 % incremental speedup over full', `${metrics.incremental1pctSpeedup} ×`, 'target ≥ 20'],
      ['transfer amplification (1 %)', String(metrics.transferAmplification), 'written ÷ changed'],
      ['Put Page calls ÷ ideal (1 %)', String(metrics.putPagesPerIdeal), ''],
      ['peak RSS, 1 GiB disk', `${metrics.peakRssMiB} MiB`, 'target < 300'],
      ['peak RSS, 8 GiB disk', `${metrics.peakRssMiBLargeDisk} MiB`, 'target < 300'],
      ['devhost, 1,000 no-op activities', `${metrics.devhostMsPerActivity} ms`, 'per activity, fan-out with Task.all'],
      ['devhost, same with a SIGKILL restart', `${metrics.devhostMsPerActivityWithRestart} ms`, 'per activity, host killed a third of the way in'],
      ['— with the exact diff Azure reports (bench-supplied; Azurite has none) —', '', ''],
      ['incremental 1 %, exact diff', `${round(mibps(changed1, inc1x.wallMs))} MiB/s`, `${round(mibps(changed1, inc1x.wallMs) / readWrite, 3)} × ceiling on changed bytes; ${round(inc1x.wallMs / 1000)} s`],
      ['incremental 10 %, exact diff', `${round(mibps(changed10, inc10x.wallMs))} MiB/s`, `${round(mibps(changed10, inc10x.wallMs) / readWrite, 3)} × ceiling on changed bytes; ${round(inc10x.wallMs / 1000)} s`],
      ['1 % speedup over full, exact diff', `${round(fullExact.wallMs / inc1x.wallMs)} ×`, `transfer amplification ${round(inc1x.totals!.bytesWritten / changed1, 3)}, Put Page ÷ ideal ${round(inc1x.totals!.putPageCalls / Math.ceil(changed1 / PUT_BYTES), 2)}`],
    ];
    const width = Math.max(...rows.filter((r) => r[1]).map((r) => r[0].length));
    console.log(`\ndeltavault bench — Azurite ${''}on this machine, node ${process.version}, diff fidelity ${inc1.plan?.fidelity}`);
    for (const [name, value, note] of rows) console.log(value ? `${name.padEnd(width)}  ${value.padStart(14)}  ${note}` : `\n${name}`);

    const results = { at: new Date().toISOString(), node: process.version, metrics };
    const out = path.join(__dirname, '..', '..', 'bench', 'results.json');
    writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
  } finally {
    await azurite.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
