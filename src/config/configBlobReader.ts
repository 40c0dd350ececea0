/**
 * The child process of readConfigBlobSync.ts: reads the protection config blob named on its
 * command line with the app's vault connection (its settings come from the environment it
 * inherits) and writes one JSON line to stdout, `{ "ok": true, "text": "…" }` or
 * `{ "ok": false, "error": { "code", "message" } }`. Messages are deltavault's own, which never
 * quote a key or a SAS.
 */
import { isDeltavaultError } from '../errors';
import { readConfigBlob } from './loadProtectionConfig';
import { appSettings } from './settings';

export type ConfigBlobReply = { ok: true; text: string } | { ok: false; error: { code: string; message: string } };

export async function readForParent(url: string): Promise<ConfigBlobReply> {
  try {
    return { ok: true, text: await readConfigBlob(appSettings(), url) };
  } catch (e) {
    if (isDeltavaultError(e)) return { ok: false, error: { code: e.code, message: e.message } };
    return { ok: false, error: { code: 'STORAGE_FAILED', message: `reading the protection config failed: ${e instanceof Error ? e.name : 'error'}` } };
  }
}

if (require.main === module) {
  void readForParent(process.argv[2] ?? '').then((reply) => {
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  });
}
