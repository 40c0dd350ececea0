/**
 * One measured operation in its own process, so its peak RSS is its own: a backup of a disk
 * or a restore of a recovery point. Prints one JSON line with wall time, peak RSS and the
 * operation's own counters. Driven by runBench.ts.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { BlobServiceClient } from '@azure/storage-blob';
import { readFileSync } from 'node:fs';
import { PageBlobSource } from '../src/disks/pageBlobSource';
import { onePage, type DiskSource } from '../src/disks/diskSource';
import { overrideSource } from '../src/disks/overrideSource';
import { normalize } from '../src/ranges/byteRange';
import { VaultDisk } from '../src/vault/vaultDisk';
import { runBackup } from '../src/backup/runBackup';
import { planBackup } from '../src/backup/planBackup';
import type { ByteRange } from '../src/ranges/byteRange';
import { restoreToPageBlob } from '../src/restore/restoreToPageBlob';

interface Task {
  /** `plan`: snapshot and plan only, of a disk whose listing is `fragmentedRanges` ranges. */
  kind: 'backup' | 'restore' | 'plan';
  fragmentedRanges?: number;
  connectionString: string;
  container: string;
  diskBlob?: string;
  /** A JSON file of [start, end) ranges the bench wrote since the previous backup: given, the
   *  backup uses them as an exact diff, which is what Azure reports and Azurite cannot. */
  exactDiffFile?: string;
  diskKey?: string;
  jobId?: string;
  recoveryPointId?: string;
  target?: string;
  concurrency: number;
  /** Hash block size of a new chain (the full backup); an incremental keeps its chain's. */
  blockBytes?: number;
}

/** The page-blob source, answering its diff with the ranges the bench knows it wrote. */
function withExactDiff(inner: PageBlobSource, written: [number, number][]): DiskSource {
  const changed = normalize(written.map(([start, end]) => ({ start, end })));
  return overrideSource(inner, { changedRangePages: () => onePage(async () => ({ changed, cleared: [] })) });
}

/**
 * The page-blob source, listing `count` ranges of 4 KiB spread evenly over the disk as its
 * snapshot's allocation, page by page as the service would: a disk fragmented far beyond what
 * the emulator could be written into in a bench's time. Only planning reads the listing.
 */
function withFragmentedListing(inner: PageBlobSource, sizeBytes: number, count: number): DiskSource {
  const stride = Math.floor(sizeBytes / count / 512) * 512;
  async function* pages(): AsyncGenerator<ByteRange[]> {
    for (let first = 0; first < count; first += 5000) {
      const page: ByteRange[] = [];
      for (let i = first; i < Math.min(count, first + 5000); i++) page.push({ start: i * stride, end: i * stride + 4096 });
      yield page;
    }
  }
  return overrideSource(inner, { allocatedRangePages: () => pages() });
}

/** Every HTTP request this process makes, by step and kind (`GET blob`, `PUT page`, …). */
const requests = new Map<string, Map<string, number>>();
let step = 'setup';
function countRequests(): void {
  const original = http.request.bind(http) as (...args: unknown[]) => http.ClientRequest;
  (http as { request: unknown }).request = (...args: unknown[]): http.ClientRequest => {
    const options = args.find((a) => typeof a === 'object' && a !== null && !(a instanceof URL)) as http.RequestOptions | undefined;
    const query = new URLSearchParams((options?.path ?? '').split('?')[1] ?? '');
    const kind = `${options?.method ?? 'GET'} ${query.get('comp') ?? query.get('restype') ?? 'blob'}`;
    const counts = requests.get(step) ?? new Map<string, number>();
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
    requests.set(step, counts);
    return original(...args);
  };
}

async function main(): Promise<void> {
  countRequests();
  const task = JSON.parse(process.argv[2] ?? '{}') as Task;
  const container = BlobServiceClient.fromConnectionString(task.connectionString).getContainerClient(task.container);
  const started = performance.now();
  let counters: Record<string, unknown>;
  if (task.kind === 'backup') {
    const blob = new PageBlobSource(container, container.getPageBlobClient(task.diskBlob!), task.exactDiffFile ? { diffFidelity: 'exact' } : {});
    const source = task.exactDiffFile ? withExactDiff(blob, JSON.parse(readFileSync(task.exactDiffFile, 'utf8')) as [number, number][]) : blob;
    const steps: Record<string, { ms: number; requests: number; kinds: Record<string, number> }> = {};
    let stepStarted = performance.now();
    const endStep = (): void => {
      const kinds = Object.fromEntries(requests.get(step) ?? []);
      steps[step] = { ms: performance.now() - stepStarted, requests: Object.values(kinds).reduce((a, b) => a + b, 0), kinds };
    };
    const onStep = (next: string): void => {
      endStep();
      step = next;
      stepStarted = performance.now();
    };
    const outcome = await runBackup(source, new VaultDisk(container, task.diskKey!), task.jobId!, { concurrency: task.concurrency, onStep, ...(task.blockBytes ? { blockBytes: task.blockBytes } : {}) });
    endStep();
    counters = { plan: outcome.plan, totals: outcome.totals, recoveryPointId: outcome.recoveryPoint.id, steps };
  } else if (task.kind === 'plan') {
    const blob = container.getPageBlobClient(task.diskBlob!);
    const sizeBytes = (await blob.getProperties()).contentLength!;
    const source = withFragmentedListing(new PageBlobSource(container, blob), sizeBytes, task.fragmentedRanges!);
    const snapshot = await source.createSnapshot(task.jobId!);
    const plan = await planBackup(source, new VaultDisk(container, task.diskKey!), task.jobId!, snapshot);
    counters = { planned: { mode: plan.mode, chunks: plan.chunks.length, allocatedBytes: plan.bytes.allocated } };
  } else {
    const result = await restoreToPageBlob(container, task.recoveryPointId!, container.getPageBlobClient(task.target!), `bench-${Date.now()}`, {
      concurrency: task.concurrency,
    });
    counters = { bytesWritten: result.bytesWritten };
  }
  const wallMs = performance.now() - started;
  const peakRssMiB = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ wallMs, peakRssMiB, ...counters })}\n`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  process.exit(1);
});
