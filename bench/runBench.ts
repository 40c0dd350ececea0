/**
 * `npm run bench`: measures the delta engine on a real Azurite (persisting to a temporary
 * folder), everything in one run, and prints ratios between figures of that same run:
 *   - the raw ceilings: parallel 4 MiB Put Page and Get Blob throughput, and the combined
 *     read+write copy ceiling 1 / (1/put + 1/get);
 *   - a full backup, incremental backups with 1 % and 10 % of the disk changed, a restore,
 *     all of a sparse 1 GiB disk; and the same backups of an 8 GiB disk (its peak RSS, and
 *     its exact-diff figures as `largeDiskExactDiff`); the peak RSS of a full backup of a sparse
 *     4 TiB disk (`sparseHugeDisk`); the peak RSS of planning a 4 TiB disk whose allocation
 *     lists two million ranges (`fragmentedPlan`); and each 1 GiB change set's bare requests replayed, the
 *     emulator's floor for it (`requestFloor`).
 * Each backup and restore runs in its own process (benchWorker.ts) so its peak RSS is its own,
 * and reports its time and HTTP requests per step (snapshot, plan, copy, seal).
 * Two chains of the same disk: the headline incremental figures use the exact diff (the ranges
 * the bench wrote between the two snapshots, which is what Azure reports); Azurite's own
 * superset diff is measured beside it and written as `supersetDiff`.
 * `--quick` runs only the 1 GiB chains and leaves results.json alone (for profiling).
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
/** Azure's largest page blob disk size class: a 4 TiB disk holding 256 MiB in 4,096 scattered extents. */
const HUGE_DISK_BYTES = 4 * 1024 * GiB;
const HUGE_DISK_EXTENTS = 4096;
/** Ranges in the allocation of the fragmented 4 TiB disk that is only planned. */
const FRAGMENTED_RANGES = 2_000_000;
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

/**
 * The emulator's floor for a change set: the fewest requests any copy of it needs, replayed
 * bare — for each changed extent, cut at 4 MiB windows as the engine cuts it, one ranged GET of
 * the source and one Put Page of those bytes into a scratch blob, `CONCURRENCY` at once. No
 * snapshot, plan, hashing or seal: an engine that did nothing else could not beat this time.
 */
async function requestFloor(container: ContainerClient, source: PageBlobClient, changed: readonly ByteRange[], sizeBytes: number): Promise<number> {
  const scratch = container.getPageBlobClient('floor.vhd');
  await scratch.create(sizeBytes);
  const pieces = changed.flatMap((r) => {
    const out: ByteRange[] = [];
    for (let at = r.start; at < r.end; ) {
      const end = Math.min(r.end, (Math.floor(at / PUT_BYTES) + 1) * PUT_BYTES);
      out.push({ start: at, end });
      at = end;
    }
    return out;
  });
  const buffers = Array.from({ length: CONCURRENCY }, () => Buffer.allocUnsafe(PUT_BYTES));
  const started = performance.now();
  await forEachBounded(pieces, CONCURRENCY, async (p) => {
    const buffer = buffers.pop()!;
    const length = p.end - p.start;
    await source.downloadToBuffer(buffer.subarray(0, length), p.start, length, { blockSize: length, concurrency: 1 });
    await scratch.uploadPages(buffer.subarray(0, length), p.start, length);
    buffers.push(buffer);
  });
  const ms = performance.now() - started;
  await scratch.delete();
  return ms;
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
  planned?: { mode: string; chunks: number; allocatedBytes: number };
  plan?: { mode: string; fidelity: string; bytes: { changed: number } };
  recoveryPointId?: string;
  bytesWritten?: number;
  /** Per backup step: wall time and HTTP requests by kind. */
  steps?: Record<string, { ms: number; requests: number; kinds: Record<string, number> }>;
}

/** One line per step of a backup: `plan 41 ms / 17 req (GET blob 5, …)`. */
function describeSteps(label: string, result: WorkerResult): string {
  const steps = Object.entries(result.steps ?? {}).map(([name, s]) => {
    const kinds = Object.entries(s.kinds).sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
    return `  ${name.padEnd(8)} ${s.ms.toFixed(0).padStart(6)} ms ${String(s.requests).padStart(5)} req  ${kinds}`;
  });
  return [`${label}: ${result.wallMs.toFixed(0)} ms`, ...steps].join('\n');
}

/** `--quick`: only the 1 GiB chains (no restore, large disk or devhost), results.json untouched. */
const quick = process.argv.includes('--quick');
/** `--block-kib=N`: hash block size of the bench's chains (default: the engine's BLOCK_BYTES). */
const blockKiB = Number(process.argv.find((a) => a.startsWith('--block-kib='))?.split('=')[1] ?? 0);

function worker(task: Record<string, unknown>): Promise<WorkerResult> {
  const script = path.join(__dirname, 'benchWorker.js');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, JSON.stringify({ concurrency: CONCURRENCY, ...(blockKiB ? { blockBytes: blockKiB * 1024 } : {}), ...task })], { maxBuffer: 16 * MiB }, (error, stdout, stderr) => {
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
    const incremental = async (share: number, label: string): Promise<{ changed: number; superset: WorkerResult; exact: WorkerResult; floorMs: number }> => {
      console.log(`incremental backups, ${label} changed…`);
      const written = await writeExtents(disk, DISK_BYTES, DISK_BYTES * share, changeSizes);
      writeFileSync(diffFile, JSON.stringify(written.map((r) => [r.start, r.end])));
      const superset = await worker({ ...base, kind: 'backup', diskBlob: disk.name, diskKey: 'os', jobId: `bench-${label}` });
      const exact = await worker({ ...base, kind: 'backup', diskBlob: disk.name, diskKey: 'osx', jobId: `bench-${label}-x`, exactDiffFile: diffFile });
      const floorMs = await requestFloor(container, disk, written, DISK_BYTES);
      return { changed: totalBytes(written), superset, exact, floorMs };
    };
    const one = await incremental(0.01, '1pct');
    const ten = await incremental(0.1, '10pct');
    const [changed1, inc1, inc1x] = [one.changed, one.superset, one.exact];
    const [changed10, inc10, inc10x] = [ten.changed, ten.superset, ten.exact];
    /**
     * What the emulator allows for each change set (see requestFloor): the floor's own throughput
     * ÷ the ceiling is the best `incrementalVsCeiling` any engine could reach on it, full ÷ floor
     * the best speedup; floor ÷ the engine's time says how close the engine comes.
     */
    const floorOf = (changed: number, floorMs: number, run: WorkerResult) => ({
      floorMs: round(floorMs, 1),
      floorVsCeiling: round(mibps(changed, floorMs) / readWrite, 3),
      bestSpeedup: round(fullExact.wallMs / floorMs, 2),
      floorVsEngine: round(floorMs / run.wallMs, 3),
      floorVsEngineCopy: round(floorMs / (run.steps?.copy?.ms ?? run.wallMs), 3),
    });
    const floor = { incremental1pct: floorOf(changed1, one.floorMs, inc1x), incremental10pct: floorOf(changed10, ten.floorMs, inc10x) };
    const describeFloor = (label: string, f: ReturnType<typeof floorOf>): string =>
      `${label}: floor ${f.floorMs} ms = ${f.floorVsCeiling} × ceiling, best speedup ${f.bestSpeedup} ×; engine reaches ${f.floorVsEngine} of it (copy step ${f.floorVsEngineCopy})`;
    if (quick) {
      for (const [label, run] of [['full', fullExact], ['1 % exact', inc1x], ['10 % exact', inc10x], ['1 % superset', inc1]] as const) console.log(describeSteps(label, run));
      const ratio = (ms: number, bytes: number): string => `${round(mibps(bytes, ms) / readWrite, 3)} × ceiling`;
      console.log(`\nceiling ${round(readWrite)} MiB/s (put ${round(ceiling.put)}, get ${round(ceiling.get)})`);
      console.log(`full ${round(mibps(full.totals!.bytesWritten, full.wallMs))} MiB/s; exact full ${round(fullExact.wallMs)} ms`);
      console.log(`1 % superset: ${round(full.wallMs / inc1.wallMs)} × faster, ${ratio(inc1.wallMs, changed1)}`);
      console.log(`1 % exact: ${round(fullExact.wallMs / inc1x.wallMs)} × faster, ${ratio(inc1x.wallMs, changed1)}, puts ÷ ideal ${round(inc1x.totals!.putPageCalls / Math.ceil(changed1 / PUT_BYTES), 2)}`);
      console.log(`10 % exact: ${ratio(inc10x.wallMs, changed10)}; 10 % superset: ${ratio(inc10.wallMs, changed10)}`);
      const read = (run: WorkerResult, bytes: number): string => `${round(run.totals!.bytesRead / MiB, 1)} MiB read for ${round(bytes / MiB, 1)} MiB changed (${round(run.totals!.bytesRead / bytes)} ×)`;
      console.log(`exact reads: 1 % ${read(inc1x, changed1)}; 10 % ${read(inc10x, changed10)}`);
      console.log(describeFloor('1 % request floor', floor.incremental1pct));
      console.log(describeFloor('10 % request floor', floor.incremental10pct));
      return;
    }
    console.log('restore of the newest recovery point…');
    const restore = await worker({ ...base, kind: 'restore', recoveryPointId: inc10.recoveryPointId, target: 'restores/os.vhd' });

    console.log(`full backup of a sparse ${LARGE_DISK_BYTES / GiB} GiB disk (${ALLOCATED_SHARE * 100} % allocated; memory, and the same figures as above)…`);
    const large = container.getPageBlobClient('vm/data.vhd');
    await large.create(LARGE_DISK_BYTES);
    await writeExtents(large, LARGE_DISK_BYTES, LARGE_DISK_BYTES * ALLOCATED_SHARE, [MiB, 4 * MiB]);
    const largeFull = await worker({ ...base, kind: 'backup', diskBlob: large.name, diskKey: 'data', jobId: 'bench-large' });
    // The same changes, scaled to the larger disk, on its exact-diff chain: the fixed cost of a
    // job (≈ 35 requests) weighs less against 82 / 820 MiB than against 10 / 100 MiB.
    const largeIncremental = async (share: number, label: string): Promise<{ changed: number; run: WorkerResult }> => {
      console.log(`incremental backup of the ${LARGE_DISK_BYTES / GiB} GiB disk, ${label} changed (exact diff)…`);
      const written = await writeExtents(large, LARGE_DISK_BYTES, LARGE_DISK_BYTES * share, changeSizes);
      writeFileSync(diffFile, JSON.stringify(written.map((r) => [r.start, r.end])));
      const run = await worker({ ...base, kind: 'backup', diskBlob: large.name, diskKey: 'data', jobId: `bench-large-${label}`, exactDiffFile: diffFile });
      return { changed: totalBytes(written), run };
    };
    const largeOne = await largeIncremental(0.01, '1pct');
    const largeTen = await largeIncremental(0.1, '10pct');

    // Memory must not grow with the disk's size: a 4 TiB address space (4 Mi hash blocks) with a
    // little data scattered across all of it, backed up whole.
    console.log(`full backup of a sparse ${HUGE_DISK_BYTES / GiB / 1024} TiB disk (${HUGE_DISK_EXTENTS} extents of 64 KiB across it; memory)…`);
    const huge = container.getPageBlobClient('vm/huge.vhd');
    await huge.create(HUGE_DISK_BYTES);
    const hugeStride = Math.floor(HUGE_DISK_BYTES / HUGE_DISK_EXTENTS / 65536) * 65536;
    await forEachBounded(Array.from({ length: HUGE_DISK_EXTENTS }, (_, i) => i * hugeStride + Math.floor(random() * (hugeStride / 65536 - 1)) * 65536), CONCURRENCY, async (at) => {
      await huge.uploadPages(someBytes(65536), at, 65536);
    });
    const hugeFull = await worker({ ...base, kind: 'backup', diskBlob: huge.name, diskKey: 'huge', jobId: 'bench-huge' });
    const hugeDisk = { diskBytes: HUGE_DISK_BYTES, allocatedBytes: HUGE_DISK_EXTENTS * 65536, extents: HUGE_DISK_EXTENTS, peakRssMiB: round(hugeFull.peakRssMiB, 1), fullBackupMs: round(hugeFull.wallMs) };

    // Nor with the number of ranges: the plan of a 4 TiB disk whose allocation lists two million
    // ranges (the listing is generated page by page; the vault and its chunk documents are real).
    console.log(`planning a ${HUGE_DISK_BYTES / GiB / 1024} TiB disk whose allocation is ${FRAGMENTED_RANGES.toLocaleString('en')} ranges (memory)…`);
    const fragmented = container.getPageBlobClient('vm/fragmented.vhd');
    await fragmented.create(HUGE_DISK_BYTES);
    const fragmentedRun = await worker({ ...base, kind: 'plan', diskBlob: fragmented.name, diskKey: 'fragmented', jobId: 'bench-fragmented', fragmentedRanges: FRAGMENTED_RANGES });
    const fragmentedPlan = {
      diskBytes: HUGE_DISK_BYTES,
      ranges: FRAGMENTED_RANGES,
      chunks: fragmentedRun.planned!.chunks,
      peakRssMiB: round(fragmentedRun.peakRssMiB, 1),
      planMs: round(fragmentedRun.wallMs),
    };

    console.log('devhost: 1,000 no-op activities fanned out, then the same with a SIGKILL and restart midway…');
    const devhost = await measureDevhost(cs);

    // The headline incremental figures come from the exact-diff chain: that is the diff deltavault
    // gets in production (Azure lists the pages written between two snapshots), and the bench's
    // diff is exactly the set of ranges it wrote between them, nothing more. Azurite's own diff
    // (every valid range) is measured too and written beside them as `supersetDiff`.
    const chainMetrics = (fullRun: WorkerResult, inc1Run: WorkerResult, inc10Run: WorkerResult, changed1 = one.changed) => ({
      fullBackupMiBps: round(mibps(fullRun.totals!.bytesWritten, fullRun.wallMs)),
      incremental1pctMiBps: round(mibps(inc1Run.totals!.bytesWritten, inc1Run.wallMs)),
      incremental10pctMiBps: round(mibps(inc10Run.totals!.bytesWritten, inc10Run.wallMs)),
      incrementalVsCeiling: round(mibps(changed1, inc1Run.wallMs) / readWrite, 3),
      incremental1pctSpeedup: round(fullRun.wallMs / inc1Run.wallMs),
      transferAmplification: round(inc1Run.totals!.bytesWritten / changed1, 3),
      putPagesPerIdeal: round(inc1Run.totals!.putPageCalls / Math.ceil(changed1 / PUT_BYTES), 2),
    });
    const exact = chainMetrics(fullExact, inc1x, inc10x);
    const superset = chainMetrics(full, inc1, inc10);
    const largeDisk = {
      diskBytes: LARGE_DISK_BYTES,
      ...chainMetrics(largeFull, largeOne.run, largeTen.run, largeOne.changed),
      incrementalVsCeiling10pct: round(mibps(largeTen.changed, largeTen.run.wallMs) / readWrite, 3),
    };
    const metrics = {
      putPageCeilingMiBps: round(ceiling.put),
      getCeilingMiBps: round(ceiling.get),
      readWriteCeilingMiBps: round(readWrite),
      ...exact,
      restoreMiBps: round(mibps(restore.bytesWritten!, restore.wallMs)),
      peakRssMiB: round(Math.max(full.peakRssMiB, fullExact.peakRssMiB, inc1.peakRssMiB, inc1x.peakRssMiB, inc10.peakRssMiB, inc10x.peakRssMiB, restore.peakRssMiB), 1),
      peakRssMiBLargeDisk: round(Math.max(largeFull.peakRssMiB, largeOne.run.peakRssMiB, largeTen.run.peakRssMiB), 1),
      devhostMsPerActivity: round(devhost.msPerActivity),
      devhostMsPerActivityWithRestart: round(devhost.msPerActivityWithRestart),
    };
    const vsCeiling10 = (run: WorkerResult, changed = changed10): number => round(mibps(changed, run.wallMs) / readWrite, 3);

    const rows: [string, string, string][] = [
      ['Put Page ceiling (4 MiB, ×8)', `${metrics.putPageCeilingMiBps} MiB/s`, ''],
      ['Get Blob ceiling (4 MiB, ×8)', `${metrics.getCeilingMiBps} MiB/s`, ''],
      ['read+write ceiling', `${metrics.readWriteCeilingMiBps} MiB/s`, ''],
      ['restore', `${metrics.restoreMiBps} MiB/s`, `${round(metrics.restoreMiBps / readWrite)} × ceiling`],
      ['peak RSS, 1 GiB disk', `${metrics.peakRssMiB} MiB`, 'target < 300'],
      ['peak RSS, 8 GiB disk', `${metrics.peakRssMiBLargeDisk} MiB`, 'target < 300'],
      ['peak RSS, sparse 4 TiB disk', `${hugeDisk.peakRssMiB} MiB`, `target < 300; ${HUGE_DISK_EXTENTS} extents backed up in ${round(hugeDisk.fullBackupMs / 1000, 1)} s`],
      [
        'peak RSS, planning 2 M ranges',
        `${fragmentedPlan.peakRssMiB} MiB`,
        `target < 300; a 4 TiB disk's ${FRAGMENTED_RANGES.toLocaleString('en')} allocated ranges planned into ${fragmentedPlan.chunks} chunks in ${round(fragmentedPlan.planMs / 1000, 1)} s`,
      ],
      ['devhost, 1,000 no-op activities', `${metrics.devhostMsPerActivity} ms`, 'per activity, fan-out with Task.all'],
      ['devhost, same with a SIGKILL restart', `${metrics.devhostMsPerActivityWithRestart} ms`, 'per activity, host killed a third of the way in'],
      ['— what Azurite allows: the bare GET + Put Page per changed extent, replayed (results.json requestFloor) —', '', ''],
    ];
    for (const [label, f] of [['1 %', floor.incremental1pct], ['10 %', floor.incremental10pct]] as const) {
      rows.push(
        [`request floor, ${label} changed`, `${f.floorMs} ms`, `${f.floorVsCeiling} × ceiling at best; ≤ ${f.bestSpeedup} × faster than full at best`],
        [`engine ÷ floor, ${label} changed`, String(f.floorVsEngine), `whole backup; the copy step alone ${f.floorVsEngineCopy}`],
      );
    }
    for (const [title, m, runs, [changed1, changed10]] of [
      ['— 1 GiB disk, exact diff, as Azure reports it (the ranges the bench wrote; headline, in results.json metrics) —', exact, [fullExact, inc1x, inc10x], [one.changed, ten.changed]],
      ['— 1 GiB disk, superset diff, as Azurite reports it (every valid range; results.json supersetDiff) —', superset, [full, inc1, inc10], [one.changed, ten.changed]],
      [`— ${LARGE_DISK_BYTES / GiB} GiB disk, exact diff (results.json largeDiskExactDiff) —`, largeDisk, [largeFull, largeOne.run, largeTen.run], [largeOne.changed, largeTen.changed]],
    ] as const) {
      const [fullRun, inc1Run, inc10Run] = runs;
      rows.push(
        [title, '', ''],
        ['full backup', `${m.fullBackupMiBps} MiB/s`, `${round(m.fullBackupMiBps / readWrite)} × ceiling; ${round(fullRun.totals!.bytesWritten / MiB, 0)} MiB in ${round(fullRun.wallMs / 1000)} s`],
        ['incremental, 1 % changed', `${m.incremental1pctMiBps} MiB/s`, `${round(changed1 / MiB, 1)} MiB changed, ${round(inc1Run.totals!.bytesRead / MiB, 1)} MiB read, in ${round(inc1Run.wallMs / 1000, 3)} s`],
        ['incremental, 10 % changed', `${m.incremental10pctMiBps} MiB/s`, `${round(changed10 / MiB, 1)} MiB changed, ${round(inc10Run.totals!.bytesRead / MiB, 1)} MiB read, in ${round(inc10Run.wallMs / 1000, 3)} s`],
        ['incremental 1 % (changed bytes) ÷ ceiling', String(m.incrementalVsCeiling), `target ≥ 0.8; at 10 %: ${vsCeiling10(inc10Run, changed10)}`],
        ['1 % incremental speedup over full', `${m.incremental1pctSpeedup} ×`, 'target ≥ 20'],
        ['transfer amplification (1 %)', String(m.transferAmplification), 'written ÷ changed'],
        ['Put Page calls ÷ ideal (1 %)', String(m.putPagesPerIdeal), 'ideal = ⌈changed ÷ 4 MiB⌉; scattered extents need one call each'],
      );
    }
    const width = Math.max(...rows.filter((r) => r[1]).map((r) => r[0].length));
    console.log(`\ndeltavault bench — Azurite on this machine, node ${process.version}`);
    for (const [name, value, note] of rows) console.log(value ? `${name.padEnd(width)}  ${value.padStart(14)}  ${note}` : `\n${name}`);

    const results = {
      at: new Date().toISOString(),
      node: process.version,
      metrics,
      /** Where the incremental figures in `metrics` come from (see docs/design.md, "Benchmark"). */
      incrementalDiff: 'exact: the ranges the bench wrote between the two snapshots, as Azure reports them',
      supersetDiff: superset,
      /** Memory of a full backup of a sparse 4 TiB disk: it does not grow with the disk's size. */
      sparseHugeDisk: hugeDisk,
      /** Memory of planning a 4 TiB disk whose allocation lists two million ranges: it does not grow with the range count. */
      fragmentedPlan,
      /** The bare requests of each 1 GiB change set replayed: the best any engine could do on Azurite. */
      requestFloor: floor,
      /** The same figures on the larger disk's exact-diff chain (1 % and 10 % of 8 GiB changed). */
      largeDiskExactDiff: largeDisk,
    };
    for (const [label, run] of [
      ['full (exact chain)', fullExact],
      ['incremental 1 %, exact', inc1x],
      ['incremental 10 %, exact', inc10x],
      ['incremental 1 %, superset', inc1],
      [`incremental 1 % of ${LARGE_DISK_BYTES / GiB} GiB, exact`, largeOne.run],
    ] as const) {
      console.log(describeSteps(label, run));
    }
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
