/** How the service is authorized to read a copy source: a bearer token, a fresh read-only SAS, or the SAS a URL carries. */
import { AnonymousCredential, BlobClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import type { AccessToken, TokenCredential } from '@azure/identity';
import { blobCopySource } from '../../src/util/copySources';
import { EMULATOR_KEY } from '../../src/devhost/azuriteLauncher';

const SNAPSHOT = '2026-11-23T07:00:00.1234567Z';
const url = `https://acct.blob.core.windows.net/disks/os.vhd?snapshot=${encodeURIComponent(SNAPSHOT)}`;

test('an Entra identity: the snapshot URL and a bearer token for storage, fetched once while it is fresh', async () => {
  const scopes: string[] = [];
  const credential: TokenCredential = {
    getToken: async (scope): Promise<AccessToken> => {
      scopes.push(String(scope));
      return { token: 'tok-1', expiresOnTimestamp: Date.now() + 3600_000 };
    },
  };
  const source = blobCopySource(new BlobClient(url, credential));
  expect(await source()).toEqual({ url, authorization: { scheme: 'Bearer', value: 'tok-1' } });
  await source();
  expect(scopes).toEqual(['https://storage.azure.com/.default']);
});

test('an account key: a read-only SAS for that snapshot, valid about an hour', async () => {
  const source = blobCopySource(new BlobClient(url, new StorageSharedKeyCredential('acct', EMULATOR_KEY)));
  const made = await source();
  const sas = new URL(made!.url);
  expect(made!.authorization).toBeUndefined();
  expect(sas.searchParams.get('snapshot')).toBe(SNAPSHOT);
  expect(sas.searchParams.get('sp')).toBe('r');
  expect(sas.searchParams.get('sr')).toBe('bs');
  const expires = new Date(sas.searchParams.get('se')!).getTime();
  expect(expires - Date.now()).toBeGreaterThan(50 * 60_000);
  expect(expires - Date.now()).toBeLessThanOrEqual(60 * 60_000);
  expect((await source())!.url).toBe(made!.url);
});

test('an anonymous client: the SAS its URL carries, or nothing to authorize the service with', async () => {
  const withSas = `${url}&sv=2025-01-05&sr=b&sp=r&sig=abc`;
  expect(await blobCopySource(new BlobClient(withSas, new AnonymousCredential()))()).toEqual({ url: withSas });
  expect(await blobCopySource(new BlobClient(url, new AnonymousCredential()))()).toBeUndefined();
});
