/** Small JSON documents in the vault, validated with a schema on every read, with ETags for conditional writes. */
import type { ContainerClient } from '@azure/storage-blob';
import type { z } from 'zod';
import { errors, storageStatus } from '../errors';

export interface JsonWithEtag<T> {
  value: T;
  etag: string;
}

export async function readJson<S extends z.ZodType>(
  container: ContainerClient,
  name: string,
  schema: S,
): Promise<JsonWithEtag<z.infer<S>> | undefined> {
  let text: string;
  let etag: string;
  try {
    // One GET gives the body and the ETag of exactly that body.
    const response = await container.getBlockBlobClient(name).download();
    text = (await readAll(response.readableStreamBody)).toString('utf8');
    etag = response.etag ?? '';
  } catch (e) {
    if (storageStatus(e) === 404) return undefined;
    throw errors.storage(`reading ${name}`, e);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw errors.manifestInvalid(name, `is not JSON (${(e as Error).message})`);
  }
  const result = schema.safeParse(parsed);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw errors.manifestInvalid(name, problems);
  }
  return { value: result.data, etag };
}

export type WriteCondition = { ifMatch: string } | { ifNoneMatch: '*' } | 'overwrite';

/** Writes a JSON document; returns its new ETag. A failed condition throws with status 412/409. */
export async function writeJson(
  container: ContainerClient,
  name: string,
  value: unknown,
  condition: WriteCondition,
  metadata?: Record<string, string>,
): Promise<string> {
  const body = Buffer.from(JSON.stringify(value, null, 2));
  const conditions = condition === 'overwrite' ? undefined : condition;
  const response = await container.getBlockBlobClient(name).upload(body, body.length, {
    conditions,
    metadata,
    blobHTTPHeaders: { blobContentType: 'application/json' },
  });
  return response.etag ?? '';
}

export async function deleteBlobIfExists(container: ContainerClient, name: string): Promise<void> {
  try {
    await container.getBlobClient(name).deleteIfExists({ deleteSnapshots: 'include' });
  } catch (e) {
    throw errors.storage(`deleting ${name}`, e);
  }
}

async function readAll(stream: NodeJS.ReadableStream | undefined): Promise<Buffer> {
  const parts: Buffer[] = [];
  if (stream) for await (const part of stream) parts.push(Buffer.isBuffer(part) ? part : Buffer.from(part));
  return Buffer.concat(parts);
}
