/**
 * The per-block SHA-256 list of a recovery point, stored beside its manifest as a binary blob:
 * a 16-byte header ('DVBH', version, block size) and then one 40-byte record per allocated
 * block (u64 big-endian block index, 32-byte SHA-256), ascending by index. Read and written as
 * streams, so memory stays fixed whatever the disk size.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ContainerClient } from '@azure/storage-blob';
import { errors, storageStatus } from '../errors';

export interface BlockHash {
  readonly index: number;
  readonly hash: Buffer;
}

const MAGIC = 'DVBH';
const VERSION = 1;
const HEADER_BYTES = 16;
const RECORD_BYTES = 40;
/** Lists up to this size are written with one Put Blob. */
const SINGLE_PUT_BYTES = 4 * 1024 * 1024;

export interface WrittenHashList {
  count: number;
  sha256: string;
}

/** Streams `records` (ascending, unique indices) into the blob `name`. */
export async function writeBlockHashes(
  container: ContainerClient,
  name: string,
  blockBytes: number,
  records: AsyncIterable<BlockHash>,
): Promise<WrittenHashList> {
  const digest = createHash('sha256');
  let count = 0;
  async function* encode(): AsyncGenerator<Buffer> {
    const header = Buffer.alloc(HEADER_BYTES);
    header.write(MAGIC, 0, 'ascii');
    header.writeUInt32BE(VERSION, 4);
    header.writeUInt32BE(blockBytes, 8);
    digest.update(header);
    yield header;
    let batch = Buffer.alloc(RECORD_BYTES * 1024);
    let used = 0;
    let last = -1;
    for await (const record of records) {
      if (record.index <= last) throw errors.manifestInvalid(name, `block ${record.index} out of order after ${last}`);
      last = record.index;
      batch.writeBigUInt64BE(BigInt(record.index), used);
      record.hash.copy(batch, used + 8, 0, 32);
      used += RECORD_BYTES;
      count++;
      if (used === batch.length) {
        digest.update(batch);
        yield batch;
        batch = Buffer.alloc(batch.length);
        used = 0;
      }
    }
    if (used > 0) {
      const tail = batch.subarray(0, used);
      digest.update(tail);
      yield tail;
    }
  }
  const blob = container.getBlockBlobClient(name);
  const options = { blobHTTPHeaders: { blobContentType: 'application/octet-stream' } };
  try {
    // A list that fits one request (every disk under about 100,000 allocated blocks) is one
    // Put Blob; a longer one streams as blocks, in fixed memory.
    const encoded = encode();
    const head: Buffer[] = [];
    let headBytes = 0;
    let step = await encoded.next();
    while (!step.done && headBytes <= SINGLE_PUT_BYTES) {
      head.push(step.value);
      headBytes += step.value.length;
      step = await encoded.next();
    }
    if (step.done) {
      const body = Buffer.concat(head);
      await blob.upload(body, body.length, options);
    } else {
      const first = step.value;
      const rest = async function* (): AsyncGenerator<Buffer> {
        yield* head;
        yield first;
        yield* encoded;
      };
      await blob.uploadStream(Readable.from(rest()), SINGLE_PUT_BYTES, 2, options);
    }
  } catch (e) {
    if ((e as Error).name === 'DeltavaultError') throw e;
    throw errors.storage(`writing block hashes ${name}`, e);
  }
  return { count, sha256: digest.digest('hex') };
}

export interface ExpectedHashList {
  blockBytes: number;
  sha256?: string;
  count?: number;
  /** Blocks of the disk the list describes: every index must be below it. */
  blockCount?: number;
}

/**
 * Streams the records of a block-hash blob; checks the header, record framing, ascending
 * indices, (when given) that every index lies inside the disk, and the record count and the
 * file's SHA-256 — those two only at the
 * end of the stream, so a caller that must not act on a damaged list reads it through
 * `checkBlockHashes` first.
 */
export async function* readBlockHashes(
  container: ContainerClient,
  name: string,
  expected?: ExpectedHashList,
): AsyncGenerator<BlockHash> {
  let stream: NodeJS.ReadableStream | undefined;
  try {
    stream = (await container.getBlockBlobClient(name).download()).readableStreamBody;
  } catch (e) {
    if (storageStatus(e) === 404) throw errors.notFound('block hash list', name);
    throw errors.storage(`reading block hashes ${name}`, e);
  }
  const digest = createHash('sha256');
  let pending: Buffer = Buffer.alloc(0);
  let headerSeen = false;
  let count = 0;
  let last = -1;
  if (stream) {
    for await (const part of stream) {
      const chunk = Buffer.isBuffer(part) ? part : Buffer.from(part);
      digest.update(chunk);
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let at = 0;
      if (!headerSeen) {
        if (pending.length < HEADER_BYTES) continue;
        checkHeader(pending, name, expected?.blockBytes);
        headerSeen = true;
        at = HEADER_BYTES;
      }
      while (pending.length - at >= RECORD_BYTES) {
        const index = Number(pending.readBigUInt64BE(at));
        if (index <= last) throw errors.manifestInvalid(name, `block ${index} comes after block ${last}: the list must ascend`);
        if (expected?.blockCount !== undefined && index >= expected.blockCount) {
          throw errors.manifestInvalid(name, `block ${index} lies past the disk's end (it has ${expected.blockCount} blocks)`);
        }
        last = index;
        count++;
        yield { index, hash: Buffer.from(pending.subarray(at + 8, at + RECORD_BYTES)) };
        at += RECORD_BYTES;
      }
      pending = pending.subarray(at);
    }
  }
  if (!headerSeen) throw errors.manifestInvalid(name, 'is shorter than its header');
  if (pending.length !== 0) throw errors.manifestInvalid(name, `ends with a partial record of ${pending.length} bytes`);
  if (expected?.count !== undefined && count !== expected.count) {
    throw errors.manifestInvalid(name, `holds ${count} blocks where its manifest says ${expected.count}`);
  }
  if (expected?.sha256 && digest.digest('hex') !== expected.sha256) {
    throw errors.manifestInvalid(name, 'does not match the SHA-256 recorded in its manifest');
  }
}

function checkHeader(buffer: Buffer, name: string, blockBytes: number | undefined): void {
  if (buffer.toString('ascii', 0, 4) !== MAGIC) throw errors.manifestInvalid(name, 'is not a deltavault block-hash list');
  const version = buffer.readUInt32BE(4);
  if (version !== VERSION) throw errors.manifestInvalid(name, `has unknown version ${version} (this deltavault reads ${VERSION})`);
  const size = buffer.readUInt32BE(8);
  if (blockBytes !== undefined && size !== blockBytes) {
    throw errors.manifestInvalid(name, `uses ${size}-byte blocks where ${blockBytes} was expected`);
  }
}

/** Reads a whole hash list once to prove it intact (count, order, SHA-256) before anyone acts on it. */
export async function checkBlockHashes(container: ContainerClient, name: string, expected: ExpectedHashList): Promise<void> {
  for await (const record of readBlockHashes(container, name, expected)) void record;
}
