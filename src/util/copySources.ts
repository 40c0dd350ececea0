/**
 * How the storage service can read a blob or snapshot on deltavault's behalf, as the source of
 * Put Page From URL: with the client's own identity (a bearer token the target service presents
 * to the source, as Azure does for Entra-authorized copies), or a short-lived read-only SAS when
 * the client holds an account key (the emulator), or the SAS a URL already carries (a managed
 * disk's access URL). The result is a secret: it is handed to the SDK and never logged.
 */
import { BlobClient, BlobSASPermissions, StorageSharedKeyCredential } from '@azure/storage-blob';
import type { AccessToken, TokenCredential } from '@azure/identity';
import type { CopySource } from '../disks/diskSource';

const STORAGE_SCOPE = 'https://storage.azure.com/.default';
/** A SAS made here lives an hour; it is made again when less than this is left. */
const SAS_LIFETIME_MS = 60 * 60 * 1000;
const RENEW_BEFORE_MS = 15 * 60 * 1000;

/** A function that returns a current copy source for `blob` (cached, renewed before it expires). */
export function blobCopySource(blob: BlobClient): () => Promise<CopySource | undefined> {
  let sas: { url: string; expiresAt: number } | undefined;
  let token: AccessToken | undefined;
  return async () => {
    const credential: unknown = blob.credential;
    if (credential instanceof StorageSharedKeyCredential) {
      if (!sas || sas.expiresAt - Date.now() < RENEW_BEFORE_MS) {
        const expiresOn = new Date(Date.now() + SAS_LIFETIME_MS);
        const url = await blob.generateSasUrl({ permissions: BlobSASPermissions.parse('r'), startsOn: new Date(Date.now() - 5 * 60 * 1000), expiresOn });
        sas = { url, expiresAt: expiresOn.getTime() };
      }
      return { url: sas.url };
    }
    if (isTokenCredential(credential)) {
      if (!token || token.expiresOnTimestamp - Date.now() < RENEW_BEFORE_MS) token = (await credential.getToken(STORAGE_SCOPE)) ?? undefined;
      return token ? { url: blob.url, authorization: { scheme: 'Bearer', value: token.token } } : undefined;
    }
    return new URL(blob.url).searchParams.has('sig') ? { url: blob.url } : undefined;
  };
}

function isTokenCredential(credential: unknown): credential is TokenCredential {
  return typeof (credential as { getToken?: unknown } | null)?.getToken === 'function';
}
