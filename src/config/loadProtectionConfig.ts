/**
 * Reading the protection config named by DELTAVAULT_CONFIG once, at start-up: a file (path
 * relative to the app folder) or a blob, read with the vault connection's credentials. With no
 * DELTAVAULT_CONFIG and the emulator as the vault, the app runs the demo (src/demo/). Every
 * failure is one error that stops the host: CONFIG_INVALID for a config that is missing, not
 * JSON or wrong (every problem listed, path by path), STORAGE_FAILED when the blob could not be
 * read for another reason. No message quotes a query string or a key.
 */
import { promises as fs } from 'node:fs';
import { BlobServiceClient, type BlobClient } from '@azure/storage-blob';
import { errors, isDeltavaultError, storageCode, storageStatus } from '../errors';
import { demoConfig } from '../demo/demoConfig';
import { parseProtectionConfig, type ProtectionConfig } from './protectionConfig';
import { redactSecrets } from './secrets';
import { SETTINGS, type Settings } from './settings';
import { createStorageClients, identityCredential } from './storageClients';
import { isPathStyleHost, normalizeServiceUrl } from './storageNames';

/** A protection config larger than this is refused unread. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;

export interface LoadProtectionConfigOptions {
  /** Reads the config blob at `url` as text (default: readConfigBlob with the vault connection). */
  readBlob?: (url: string) => Promise<string>;
}

/**
 * The app's protection config: DELTAVAULT_CONFIG's file or blob, parsed and validated; or, when
 * DELTAVAULT_CONFIG is not set and the vault is the storage emulator, the demo config. Throws
 * SETTINGS_INVALID when it is not set for a real vault account (the demo only runs locally).
 */
export async function loadProtectionConfig(settings: Settings, options: LoadProtectionConfigOptions = {}): Promise<ProtectionConfig> {
  const location = settings.config;
  if (location === undefined) {
    if (settings.vault.kind === 'connectionString' && settings.vault.emulator) return demoConfig(settings);
    throw errors.settingsInvalid([
      {
        setting: SETTINGS.config,
        problem:
          'is not set: give the protection config (a file path or a blob URL); without one deltavault runs its demo, ' +
          'which it does only when the vault is the local storage emulator',
      },
    ]);
  }
  const where = redactSecrets(location.kind === 'file' ? location.path : location.url);
  const text =
    location.kind === 'file'
      ? await readConfigFile(location.path)
      : await (options.readBlob ?? ((url: string) => readConfigBlob(settings, url)))(location.url);
  return parseProtectionConfig(parseConfigJson(text, where), where);
}

/** JSON.parse with a CONFIG_INVALID error naming the file (a byte-order mark is allowed). */
export function parseConfigJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw errors.configInvalid(where, [{ path: '$', problem: `is not valid JSON: ${redactSecrets((e as Error).message)}` }]);
  }
}

const FILE_PROBLEMS: Record<string, string> = {
  ENOENT: 'the file does not exist',
  EACCES: 'the app may not read the file (permission denied)',
  EISDIR: 'is a folder, not a file',
  ENOTDIR: 'a part of the path is not a folder',
};

async function readConfigFile(path: string): Promise<string> {
  const fail = (problem: string) => errors.configInvalid(path, [{ path: '$', problem }]);
  try {
    const stat = await fs.stat(path);
    if (stat.isDirectory()) throw fail(FILE_PROBLEMS.EISDIR as string);
    if (stat.size > MAX_CONFIG_BYTES) throw fail(`is larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB`);
    return await fs.readFile(path, 'utf8');
  } catch (e) {
    if (isDeltavaultError(e)) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    throw fail(`cannot be read: ${FILE_PROBLEMS[code] ?? code}`);
  }
}

/** The account's blob service URL, the container and the blob name of a blob URL (path-style on the emulator and IP hosts). */
export function splitBlobUrl(url: string): { serviceUrl: string; container: string; blobName: string } {
  const parsed = new URL(url);
  const segments = parsed.pathname.split('/').slice(1);
  const account = isPathStyleHost(parsed.hostname) ? `/${segments.shift() ?? ''}` : '';
  const container = segments.shift() ?? '';
  return {
    serviceUrl: normalizeServiceUrl(new URL(`${parsed.protocol}//${parsed.host}${account}`)),
    container: decodeURIComponent(container),
    blobName: segments.map((s) => decodeURIComponent(s)).join('/'),
  };
}

/**
 * A client for the blob at `url` with the vault connection's credentials: a blob of the vault
 * account through the vault's BlobServiceClient; a blob of another account only with an
 * identity-based connection (a connection string's key or SAS is for the vault account alone).
 */
export function blobClientWithVaultCredentials(settings: Settings, url: string): BlobClient {
  const { serviceUrl, container, blobName } = splitBlobUrl(url);
  if (serviceUrl === settings.vault.blobServiceUrl) {
    return createStorageClients(settings).blobService.getContainerClient(container).getBlobClient(blobName);
  }
  if (settings.vault.kind === 'identity') {
    return new BlobServiceClient(serviceUrl, identityCredential(settings.vault)).getContainerClient(container).getBlobClient(blobName);
  }
  throw errors.settingsInvalid([
    {
      setting: SETTINGS.config,
      problem:
        `names a blob in another storage account than the vault's, which ${SETTINGS.vault}'s connection string cannot read: ` +
        `put the config in the vault account, or use an identity-based connection (${SETTINGS.vault}__blobServiceUri…) with read access to it`,
    },
  ]);
}

/** The text of the config blob at `url`, read with the vault connection's credentials. */
export async function readConfigBlob(settings: Settings, url: string): Promise<string> {
  const where = redactSecrets(url);
  const blob = blobClientWithVaultCredentials(settings, url);
  try {
    const props = await blob.getProperties();
    if ((props.contentLength ?? 0) > MAX_CONFIG_BYTES) {
      throw errors.configInvalid(where, [{ path: '$', problem: `is larger than ${MAX_CONFIG_BYTES / 1024 / 1024} MiB` }]);
    }
    return (await blob.downloadToBuffer()).toString('utf8');
  } catch (e) {
    if (isDeltavaultError(e)) throw e;
    if (storageStatus(e) === 404) {
      const what = storageCode(e) === 'ContainerNotFound' ? 'its container does not exist' : 'the blob does not exist';
      throw errors.configInvalid(where, [{ path: '$', problem: `cannot be read: ${what}` }]);
    }
    throw errors.storage(`reading the protection config ${where}`, e);
  }
}
