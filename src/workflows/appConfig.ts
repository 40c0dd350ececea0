/**
 * The protection config as the Functions app knows it. Timers are registered when the app
 * loads, synchronously, so the config must be known then:
 * - a file (DELTAVAULT_CONFIG is a path): read and validated synchronously at load;
 * - a blob URL: read at load by a child process the app waits for (readConfigBlobSync.ts), then
 *   validated the same way;
 * - no DELTAVAULT_CONFIG and the emulator as vault: the demo config (with a real vault account:
 *   SETTINGS_INVALID, the app does not start).
 * An invalid or unreadable config throws (CONFIG_INVALID naming every problem, STORAGE_FAILED)
 * and the host does not start.
 */
import { readFileSync } from 'node:fs';
import { demoConfig, usesDemoConfig } from '../demo/demoConfig';
import { errors } from '../errors';
import { loadProtectionConfig, MAX_CONFIG_BYTES, parseConfigJson } from '../config/loadProtectionConfig';
import { parseProtectionConfig, type ProtectedDisk, type ProtectionConfig, type ProtectionPolicy } from '../config/protectionConfig';
import { readConfigBlobSync } from '../config/readConfigBlobSync';
import { redactSecrets } from '../config/secrets';
import { SETTINGS, type Settings } from '../config/settings';

const readAtLoad = new WeakMap<Settings, ProtectionConfig>();

/** The config, read synchronously once per settings object (every functions/ module shares it). */
export function configAtLoad(settings: Settings): ProtectionConfig {
  let config = readAtLoad.get(settings);
  if (!config) {
    config = readConfigNow(settings);
    readAtLoad.set(settings, config);
  }
  return config;
}

function readConfigNow(settings: Settings): ProtectionConfig {
  const location = settings.config;
  if (location === undefined) {
    if (usesDemoConfig(settings) && settings.vault.kind === 'connectionString' && settings.vault.emulator) return demoConfig(settings);
    throw errors.settingsInvalid([
      {
        setting: SETTINGS.config,
        problem:
          'is not set: give the protection config (a file path or a blob URL); without one deltavault runs its demo, ' +
          'which it does only when the vault is the local storage emulator',
      },
    ]);
  }
  if (location.kind === 'blob') {
    const where = redactSecrets(location.url);
    return parseProtectionConfig(parseConfigJson(readConfigBlobSync(location.url), where), where);
  }
  let text: string;
  try {
    text = readFileSync(location.path, 'utf8');
  } catch (e) {
    throw errors.configInvalid(location.path, [{ path: '$', problem: `cannot be read: ${(e as NodeJS.ErrnoException).code ?? 'error'}` }]);
  }
  if (Buffer.byteLength(text, 'utf8') > MAX_CONFIG_BYTES) {
    throw errors.configInvalid(location.path, [{ path: '$', problem: `is larger than ${MAX_CONFIG_BYTES} bytes` }]);
  }
  return parseProtectionConfig(parseConfigJson(text, location.path), location.path);
}

let cached: Promise<ProtectionConfig> | undefined;

/** The app's config: the one read at load, else (blob URL) loaded once, asynchronously. */
export function appProtectionConfig(settings: Settings, atLoad?: ProtectionConfig): Promise<ProtectionConfig> {
  if (atLoad) return Promise.resolve(atLoad);
  cached ??= loadProtectionConfig(settings).catch((e: unknown) => {
    cached = undefined;
    throw e;
  });
  return cached;
}

/** A disk by key, or by its source (page-blob URL or managed-disk id, as the config gives it). */
export function findDisk(config: ProtectionConfig, keyOrSource: string): ProtectedDisk | undefined {
  const bySource = (d: ProtectedDisk): string => (d.source.kind === 'pageBlob' ? d.source.url : d.source.id.toLowerCase());
  return config.disks.find((d) => d.key === keyOrSource) ?? config.disks.find((d) => bySource(d) === keyOrSource || bySource(d) === keyOrSource.toLowerCase());
}

export function findPolicy(config: ProtectionConfig, name: string): ProtectionPolicy | undefined {
  return config.policies.find((p) => p.name === name);
}

/** The disks a policy protects (those listed in `disks`; tag-selected managed disks come with issue 5). */
export function disksOfPolicy(config: ProtectionConfig, policy: string): ProtectedDisk[] {
  return config.disks.filter((d) => d.policy === policy);
}
