/**
 * The protection config blob, read synchronously. The app registers one timer per policy while
 * its module loads, before anything asynchronous can run, so a config kept in a blob is read by
 * a short-lived child Node process (configBlobReader.js, beside this file in the build) that the
 * app waits for: the same settings (it inherits the environment), the same credentials, the
 * same errors. It runs once, at start-up.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { DeltavaultError, errors, type ErrorCode } from '../errors';
import type { ConfigBlobReply } from './configBlobReader';
import { MAX_CONFIG_BYTES } from './loadProtectionConfig';
import { redactSecrets } from './secrets';

/** How long the read may take, connection and credential included. */
export const CONFIG_BLOB_READ_TIMEOUT_MS = 60_000;

/** The text of the config blob at `url`; throws what readConfigBlob would (CONFIG_INVALID, STORAGE_FAILED, SETTINGS_INVALID). */
export function readConfigBlobSync(url: string): string {
  const where = redactSecrets(url);
  const reader = path.join(__dirname, 'configBlobReader.js');
  if (!existsSync(reader)) throw errors.notSupported(`reading the protection config blob at load needs the built app (${reader} is missing): run npm run build`);
  const run = spawnSync(process.execPath, [reader, url], {
    env: process.env,
    encoding: 'utf8',
    timeout: CONFIG_BLOB_READ_TIMEOUT_MS,
    maxBuffer: 3 * MAX_CONFIG_BYTES,
    windowsHide: true,
  });
  if (run.error) throw errors.storage(`reading the protection config ${where} (the reader process: ${run.error.message})`, run.error);
  let reply: ConfigBlobReply;
  try {
    reply = JSON.parse(run.stdout.trim().split('\n').pop() ?? '') as ConfigBlobReply;
  } catch {
    throw errors.storage(`reading the protection config ${where}: the reader process ended with status ${run.status ?? run.signal} and no answer`, undefined);
  }
  if (reply.ok) return reply.text;
  throw new DeltavaultError(reply.error.code as ErrorCode, reply.error.message);
}
