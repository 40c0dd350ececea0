/**
 * Loading the protection config (src/config/loadProtectionConfig.ts) as the app does at start:
 * from a file, from a blob of the vault account on Azurite (read with the vault connection), the
 * demo when DELTAVAULT_CONFIG is unset, and one CONFIG_INVALID error for every way it can be wrong.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ContainerClient } from '@azure/storage-blob';
import { DeltavaultError } from '../../src/errors';
import { loadProtectionConfig, MAX_CONFIG_BYTES, splitBlobUrl } from '../../src/config/loadProtectionConfig';
import { loadSettings, type Settings } from '../../src/config/settings';
import { DEMO, demoDiskUrl } from '../../src/demo/demoConfig';
import { freshContainer } from '../support/storage';

const CONFIG = {
  policies: [{ name: 'nightly', schedule: '0 0 2 * * *', retention: { keepLast: 7 } }],
  disks: [{ source: 'https://contosovhds.blob.core.windows.net/vhds/vm1-os.vhd', policy: 'nightly', key: 'vm1-os' }],
};

let dir: string;
let container: ContainerClient;

function settings(env: Record<string, string> = {}): Settings {
  return loadSettings({ DELTAVAULT_VAULT: process.env.DELTAVAULT_TEST_STORAGE as string, ...env }, { cwd: dir });
}

async function failure(promise: Promise<unknown>): Promise<DeltavaultError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DeltavaultError);
  return err as DeltavaultError;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deltavault-config-'));
  container = await freshContainer('config');
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('from a file', () => {
  test('a path relative to the app folder, with a byte-order mark', async () => {
    fs.writeFileSync(path.join(dir, 'protection.json'), `\uFEFF${JSON.stringify(CONFIG, null, 2)}`);
    const config = await loadProtectionConfig(settings({ DELTAVAULT_CONFIG: 'protection.json' }));
    expect(config.disks.map((d) => d.key)).toEqual(['vm1-os']);
    expect(config.policies[0]?.retention).toEqual({ keepLast: 7 });
  });

  test('a missing file, a folder, not JSON, too large, or wrong: one CONFIG_INVALID naming the file', async () => {
    const file = path.join(dir, 'missing.json');
    let err = await failure(loadProtectionConfig(settings({ DELTAVAULT_CONFIG: file })));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(`${file}: $: cannot be read: the file does not exist`);

    err = await failure(loadProtectionConfig(settings({ DELTAVAULT_CONFIG: dir })));
    expect(err.message).toContain(`${dir}: $: is a folder, not a file`);

    fs.writeFileSync(path.join(dir, 'broken.json'), '{ "policies": [ }');
    err = await failure(loadProtectionConfig(settings({ DELTAVAULT_CONFIG: 'broken.json' })));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(/broken\.json: \$: is not valid JSON: /);

    fs.writeFileSync(path.join(dir, 'huge.json'), ' '.repeat(MAX_CONFIG_BYTES + 1));
    err = await failure(loadProtectionConfig(settings({ DELTAVAULT_CONFIG: 'huge.json' })));
    expect(err.message).toContain('is larger than 4 MiB');

    fs.writeFileSync(path.join(dir, 'wrong.json'), JSON.stringify({ ...CONFIG, disks: [{ ...CONFIG.disks[0], policy: 'weekly' }] }));
    err = await failure(loadProtectionConfig(settings({ DELTAVAULT_CONFIG: 'wrong.json' })));
    expect(err.message).toBe(
      'invalid protection config (1 problem):\n' +
        `  ${path.join(dir, 'wrong.json')}: $.disks[0].policy: names policy 'weekly', which the config does not define (policies: nightly)`,
    );
  });
});

describe('from a blob', () => {
  test('a blob of the vault account, read with the vault connection', async () => {
    const blob = container.getBlockBlobClient('config/protection.json');
    const text = JSON.stringify(CONFIG);
    await blob.upload(text, Buffer.byteLength(text));
    const config = await loadProtectionConfig(settings({ DELTAVAULT_CONFIG: blob.url }));
    expect(config.disks[0]?.key).toBe('vm1-os');
  });

  test('readBlob can be given (and is given the URL)', async () => {
    const url = `${container.url}/elsewhere.json`;
    const seen: string[] = [];
    const config = await loadProtectionConfig(settings({ DELTAVAULT_CONFIG: url }), {
      readBlob: async (u) => {
        seen.push(u);
        return JSON.stringify(CONFIG);
      },
    });
    expect(seen).toEqual([url]);
    expect(config.policies).toHaveLength(1);
  });

  test('a missing blob or container is CONFIG_INVALID naming the URL', async () => {
    let err = await failure(loadProtectionConfig(settings({ DELTAVAULT_CONFIG: `${container.url}/nope.json` })));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(`${container.url}/nope.json: $: cannot be read: the blob does not exist`);
    err = await failure(loadProtectionConfig(settings({ DELTAVAULT_CONFIG: `${container.url}-gone/nope.json` })));
    expect(err.message).toMatch(/cannot be read: (its container|the blob) does not exist/);
  });

  test("a blob in another account cannot be read with the vault's connection string", async () => {
    const err = await failure(loadProtectionConfig(settings({ DELTAVAULT_CONFIG: 'https://other.blob.core.windows.net/config/protection.json' })));
    expect(err.code).toBe('SETTINGS_INVALID');
    expect(err.message).toMatch(/DELTAVAULT_CONFIG: names a blob in another storage account/);
  });

  test('blob URLs split into service, container and blob name, path-style on the emulator', () => {
    expect(splitBlobUrl('https://acct.blob.core.windows.net/cfg/a/b%20c.json')).toEqual({
      serviceUrl: 'https://acct.blob.core.windows.net',
      container: 'cfg',
      blobName: 'a/b c.json',
    });
    expect(splitBlobUrl('http://127.0.0.1:10000/devstoreaccount1/cfg/p.json')).toEqual({
      serviceUrl: 'http://127.0.0.1:10000/devstoreaccount1',
      container: 'cfg',
      blobName: 'p.json',
    });
  });
});

describe('without DELTAVAULT_CONFIG', () => {
  test('the emulator vault runs the demo: one policy every minute keeping 5, one page blob in the vault account', async () => {
    const s = settings();
    const config = await loadProtectionConfig(s);
    expect(config).toEqual({
      policies: [{ name: 'demo', schedule: '0 */1 * * * *', retention: { keepLast: 5 } }],
      disks: [
        {
          key: 'demo-disk',
          policy: 'demo',
          source: {
            kind: 'pageBlob',
            url: demoDiskUrl(s),
            serviceUrl: s.vault.blobServiceUrl,
            container: DEMO.container,
            blobName: DEMO.blobName,
          },
        },
      ],
    });
    expect(demoDiskUrl(s)).toBe(container.getPageBlobClient('x').url.replace(`${container.containerName}/x`, 'demo-disks/demo/disk.vhd'));
  });

  test('a real vault account does not start without a config', async () => {
    const err = await failure(
      loadProtectionConfig(
        loadSettings({
          DELTAVAULT_VAULT__blobServiceUri: 'https://vaultacct.blob.core.windows.net',
          DELTAVAULT_VAULT__queueServiceUri: 'https://vaultacct.queue.core.windows.net',
        }),
      ),
    );
    expect(err.code).toBe('SETTINGS_INVALID');
    expect(err.message).toMatch(/DELTAVAULT_CONFIG: is not set: .*only when the vault is the local storage emulator/);
  });
});
