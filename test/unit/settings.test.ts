/** deltavault's settings (src/config/): the vault connection in both forms, names, the restore
 *  allow-list, the config location; every problem named by its setting, no value ever shown. Pure. */
import { inspect } from 'node:util';
import * as path from 'node:path';
import fc from 'fast-check';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { DeltavaultError } from '../../src/errors';
import { isRestoreAllowed, parseRestoreTargets, type RestoreTarget } from '../../src/config/restoreTargets';
import { Secret, redactSecrets } from '../../src/config/secrets';
import {
  DEFAULT_EVENTS_QUEUE,
  DEFAULT_VAULT_CONTAINER,
  STANDARD_EMULATOR_CONNECTION_STRING,
  loadSettings,
  type Settings,
} from '../../src/config/settings';
import { createStorageClients, identityCredential } from '../../src/config/storageClients';
import { armCredential } from '../../src/config/armClients';
import { expectDeltavaultError } from '../support/errors';

const KEY = Buffer.alloc(64, 7).toString('base64');
const ACCOUNT = `DefaultEndpointsProtocol=https;AccountName=vaultacct;AccountKey=${KEY};EndpointSuffix=core.windows.net`;
const EMULATOR_ON_ODD_PORTS =
  'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;' +
  'BlobEndpoint=http://127.0.0.1:41001/devstoreaccount1;QueueEndpoint=http://127.0.0.1:41002/devstoreaccount1;TableEndpoint=http://127.0.0.1:41003/devstoreaccount1;';
const IDENTITY = {
  DELTAVAULT_VAULT__blobServiceUri: 'https://vaultacct.blob.core.windows.net/',
  DELTAVAULT_VAULT__queueServiceUri: 'https://vaultacct.queue.core.windows.net',
};

/** The SETTINGS_INVALID error loadSettings throws for `env`. */
function invalid(env: Record<string, string | undefined>): DeltavaultError {
  return expectDeltavaultError(() => loadSettings(env, { cwd: '/app' }), 'SETTINGS_INVALID');
}

function problemsOf(err: DeltavaultError): { setting: string; problem: string }[] {
  return err.details?.problems as { setting: string; problem: string }[];
}

describe('the vault connection', () => {
  test('UseDevelopmentStorage=true alone: the emulator on its standard ports, and every default', () => {
    const s = loadSettings({ DELTAVAULT_VAULT: 'UseDevelopmentStorage=true' });
    expect(s.vault).toMatchObject({
      kind: 'connectionString',
      emulator: true,
      blobServiceUrl: 'http://127.0.0.1:10000/devstoreaccount1',
      queueServiceUrl: 'http://127.0.0.1:10001/devstoreaccount1',
      tableServiceUrl: 'http://127.0.0.1:10002/devstoreaccount1',
    });
    expect(s.vault.kind === 'connectionString' && s.vault.connectionString.reveal()).toBe(STANDARD_EMULATOR_CONNECTION_STRING);
    expect(s.vaultContainer).toBe(DEFAULT_VAULT_CONTAINER);
    expect(s.eventsQueue).toBe(DEFAULT_EVENTS_QUEUE);
    expect(s.restoreTargets).toEqual([]);
    expect(s.config).toBeUndefined();
  });

  test('UseDevelopmentStorage=true follows AzureWebJobsStorage when that is a full connection string to the emulator', () => {
    const s = loadSettings({ DELTAVAULT_VAULT: 'usedevelopmentstorage=true;', AzureWebJobsStorage: EMULATOR_ON_ODD_PORTS });
    expect(s.vault).toMatchObject({ emulator: true, blobServiceUrl: 'http://127.0.0.1:41001/devstoreaccount1' });
    expect(s.vault.kind === 'connectionString' && s.vault.connectionString.reveal()).toBe(EMULATOR_ON_ODD_PORTS);
    // AzureWebJobsStorage=UseDevelopmentStorage=true itself: the standard ports.
    const standard = loadSettings({ DELTAVAULT_VAULT: 'UseDevelopmentStorage=true', AzureWebJobsStorage: 'UseDevelopmentStorage=true' });
    expect(standard.vault.blobServiceUrl).toBe('http://127.0.0.1:10000/devstoreaccount1');
  });

  test('UseDevelopmentStorage=true never silently becomes a real account that AzureWebJobsStorage names', () => {
    const err = invalid({ DELTAVAULT_VAULT: 'UseDevelopmentStorage=true', AzureWebJobsStorage: ACCOUNT });
    expect(err.message).toMatch(/DELTAVAULT_VAULT: UseDevelopmentStorage=true means the storage emulator, but AzureWebJobsStorage names an account/);
    expect(err.message).not.toContain(KEY);
  });

  test('an account-key connection string: endpoints derived from the account and suffix', () => {
    const s = loadSettings({ DELTAVAULT_VAULT: ACCOUNT });
    expect(s.vault).toMatchObject({
      kind: 'connectionString',
      emulator: false,
      blobServiceUrl: 'https://vaultacct.blob.core.windows.net',
      queueServiceUrl: 'https://vaultacct.queue.core.windows.net',
      tableServiceUrl: 'https://vaultacct.table.core.windows.net',
    });
    const sovereign = loadSettings({ DELTAVAULT_VAULT: `AccountName=vaultacct;AccountKey=${KEY};EndpointSuffix=core.chinacloudapi.cn` });
    expect(sovereign.vault.blobServiceUrl).toBe('https://vaultacct.blob.core.chinacloudapi.cn');
  });

  test('a SAS connection string needs its endpoints, a queue one included (the events queue)', () => {
    const sas = 'sv=2022-11-02&ss=bq&srt=sco&sp=rwdlac&se=2030-01-01T00:00:00Z&sig=abcdefghijklmnop%3D';
    const s = loadSettings({
      DELTAVAULT_VAULT: `BlobEndpoint=https://vaultacct.blob.core.windows.net/;QueueEndpoint=https://vaultacct.queue.core.windows.net;SharedAccessSignature=${sas}`,
    });
    expect(s.vault).toMatchObject({ blobServiceUrl: 'https://vaultacct.blob.core.windows.net', queueServiceUrl: 'https://vaultacct.queue.core.windows.net' });
    const err = invalid({ DELTAVAULT_VAULT: `BlobEndpoint=https://vaultacct.blob.core.windows.net;SharedAccessSignature=${sas}` });
    expect(err.message).toMatch(/DELTAVAULT_VAULT: names no queue endpoint for the events queue/);
    expect(err.message).not.toContain('abcdefghijklmnop');
  });

  test.each([
    ['no AccountKey or SAS', 'AccountName=vaultacct', /needs AccountName and AccountKey/],
    ['a key without an account', `AccountKey=${KEY}`, /AccountKey but no AccountName/],
    ['a key that is not base64', `AccountName=vaultacct;AccountKey=${KEY.slice(0, 20)}!!`, /AccountKey is not a base64 account key/],
    ['an account name Azure refuses', `AccountName=Vault_Acct;AccountKey=${KEY}`, /AccountName must be 3-24 lowercase letters and digits/],
    ['a bare key pasted in', KEY, /is not a storage connection string: part 1 is not a storage connection string setting/],
    ['a part without =', `AccountName=vaultacct;${KEY.replace(/=/g, '')}`, /part 2 is not Name=value/],
    ['a part given twice', `AccountName=a1b2c;AccountName=a1b2c;AccountKey=${KEY}`, /AccountName is given twice/],
    ['an http endpoint off this machine', `AccountName=vaultacct;AccountKey=${KEY};BlobEndpoint=http://vault.example.com`, /BlobEndpoint must be an https:\/\/ URL/],
    ['both a key and a SAS', `AccountName=vaultacct;AccountKey=${KEY};SharedAccessSignature=sv=1&sig=x`, /both AccountKey and SharedAccessSignature/],
    ['UseDevelopmentStorage with more', `UseDevelopmentStorage=true;AccountName=vaultacct`, /exactly UseDevelopmentStorage=true/],
  ])('a connection string with %s is refused, naming DELTAVAULT_VAULT', (_what, value, message) => {
    const err = invalid({ DELTAVAULT_VAULT: value });
    expect(problemsOf(err)).toEqual([{ setting: 'DELTAVAULT_VAULT', problem: expect.stringMatching(message) }]);
    expect(err.message).not.toContain(KEY.slice(0, 20));
  });

  test('the identity-based form: DefaultAzureCredential, or a (user-assigned) managed identity', () => {
    const s = loadSettings(IDENTITY);
    expect(s.vault).toEqual({
      kind: 'identity',
      blobServiceUrl: 'https://vaultacct.blob.core.windows.net',
      queueServiceUrl: 'https://vaultacct.queue.core.windows.net',
      credential: 'default',
    });
    const clientId = '0F8FAD5B-D9CB-469F-A165-70867728950E';
    const mi = loadSettings({
      ...IDENTITY,
      DELTAVAULT_VAULT__TableServiceUri: 'https://vaultacct.table.core.windows.net',
      DELTAVAULT_VAULT__credential: 'ManagedIdentity',
      DELTAVAULT_VAULT__clientId: clientId,
    });
    expect(mi.vault).toMatchObject({
      kind: 'identity',
      tableServiceUrl: 'https://vaultacct.table.core.windows.net',
      credential: 'managedidentity',
      clientId: clientId.toLowerCase(),
    });
  });

  test('identity-based problems name the exact setting', () => {
    const err = invalid({
      DELTAVAULT_VAULT__blobServiceUri: 'https://vaultacct.blob.core.windows.net/?sv=2022&sig=SECRETSIGNATURE',
      DELTAVAULT_VAULT__credential: 'clientsecret',
      DELTAVAULT_VAULT__clientId: 'not-a-guid',
      DELTAVAULT_VAULT__serviceUri: 'https://vaultacct.blob.core.windows.net',
    });
    const problems = problemsOf(err);
    expect(problems.map((p) => p.setting).sort()).toEqual([
      'DELTAVAULT_VAULT__blobServiceUri',
      'DELTAVAULT_VAULT__clientId',
      'DELTAVAULT_VAULT__credential',
      'DELTAVAULT_VAULT__queueServiceUri',
      'DELTAVAULT_VAULT__serviceUri',
    ]);
    expect(problems.find((p) => p.setting === 'DELTAVAULT_VAULT__blobServiceUri')?.problem).toMatch(/no SAS token here/);
    expect(problems.find((p) => p.setting === 'DELTAVAULT_VAULT__queueServiceUri')?.problem).toMatch(/is not set/);
    expect(problems.find((p) => p.setting === 'DELTAVAULT_VAULT__serviceUri')?.problem).toMatch(/expected one of DELTAVAULT_VAULT__blobServiceUri/);
    expect(err.message).not.toContain('SECRETSIGNATURE');
  });

  test('both forms at once, or neither, is refused', () => {
    expect(invalid({ DELTAVAULT_VAULT: ACCOUNT, ...IDENTITY }).message).toMatch(
      /DELTAVAULT_VAULT: set either DELTAVAULT_VAULT \(a connection string\) or DELTAVAULT_VAULT__blobServiceUri, DELTAVAULT_VAULT__queueServiceUri/,
    );
    expect(invalid({}).message).toMatch(/DELTAVAULT_VAULT: is not set: give the vault storage account's connection string/);
    // Blank values count as unset.
    expect(invalid({ DELTAVAULT_VAULT: '  ' }).message).toMatch(/DELTAVAULT_VAULT: is not set/);
  });
});

describe('names, the config location and the restore allow-list', () => {
  const base = { DELTAVAULT_VAULT: 'UseDevelopmentStorage=true' };

  test('container and queue names follow Azure Storage rules', () => {
    expect(loadSettings({ ...base, DELTAVAULT_VAULT_CONTAINER: 'vault-2', DELTAVAULT_EVENTS_QUEUE: 'dv-events' })).toMatchObject({
      vaultContainer: 'vault-2',
      eventsQueue: 'dv-events',
    });
    for (const bad of ['ab', 'Vault', 'vault--x', '-vault', 'vault-', 'va_ult', 'x'.repeat(64)]) {
      expect(problemsOf(invalid({ ...base, DELTAVAULT_VAULT_CONTAINER: bad }))).toEqual([
        { setting: 'DELTAVAULT_VAULT_CONTAINER', problem: expect.stringMatching(/must be a container name/) },
      ]);
      expect(problemsOf(invalid({ ...base, DELTAVAULT_EVENTS_QUEUE: bad }))).toEqual([
        { setting: 'DELTAVAULT_EVENTS_QUEUE', problem: expect.stringMatching(/must be a queue name/) },
      ]);
    }
  });

  test('every problem is reported at once, each under its setting', () => {
    const err = invalid({ DELTAVAULT_VAULT_CONTAINER: 'Bad', DELTAVAULT_EVENTS_QUEUE: 'q', DELTAVAULT_RESTORE_TARGETS: 'okay,,', DELTAVAULT_CONFIG: 'https://a.blob.core.windows.net/' });
    expect(problemsOf(err).map((p) => p.setting)).toEqual([
      'DELTAVAULT_VAULT',
      'DELTAVAULT_VAULT_CONTAINER',
      'DELTAVAULT_EVENTS_QUEUE',
      'DELTAVAULT_RESTORE_TARGETS',
      'DELTAVAULT_RESTORE_TARGETS',
      'DELTAVAULT_CONFIG',
    ]);
    expect(err.message).toMatch(/^invalid settings \(6\): DELTAVAULT_VAULT: .*; DELTAVAULT_VAULT_CONTAINER: .*; DELTAVAULT_RESTORE_TARGETS: entry 2 of 3 is empty/);
  });

  test('DELTAVAULT_CONFIG: a file path (relative to the app folder) or a blob URL without a SAS', () => {
    expect(loadSettings({ ...base, DELTAVAULT_CONFIG: 'protection.json' }, { cwd: '/app' }).config).toEqual({
      kind: 'file',
      path: path.resolve('/app', 'protection.json'),
    });
    expect(loadSettings({ ...base, DELTAVAULT_CONFIG: 'https://cfg.blob.core.windows.net/config/protection.json' }).config).toEqual({
      kind: 'blob',
      url: 'https://cfg.blob.core.windows.net/config/protection.json',
    });
    expect(invalid({ ...base, DELTAVAULT_CONFIG: 'https://cfg.blob.core.windows.net/config/p.json?sv=1&sig=SIGSIGSIGSIG' }).message).toMatch(
      /DELTAVAULT_CONFIG: must not carry a query string/,
    );
    expect(invalid({ ...base, DELTAVAULT_CONFIG: 'https://cfg.blob.core.windows.net/config' }).message).toMatch(/DELTAVAULT_CONFIG: must be the URL of a blob/);
  });

  test('DELTAVAULT_RESTORE_TARGETS: container names, folders, blob endpoints and resource groups', () => {
    const s = loadSettings({
      ...base,
      DELTAVAULT_RESTORE_TARGETS:
        ' restores , restores2/vm1/ , https://Other.blob.core.windows.net/drs/site-a, http://127.0.0.1:10000/devstoreaccount1/emu, ' +
        '/subscriptions/0F8FAD5B-D9CB-469F-A165-70867728950E/resourceGroups/rg-Restores',
    });
    const vaultUrl = 'http://127.0.0.1:10000/devstoreaccount1';
    expect(s.restoreTargets).toEqual<RestoreTarget[]>([
      { kind: 'pageBlob', blobServiceUrl: vaultUrl, container: 'restores', folder: '' },
      { kind: 'pageBlob', blobServiceUrl: vaultUrl, container: 'restores2', folder: 'vm1' },
      { kind: 'pageBlob', blobServiceUrl: 'https://other.blob.core.windows.net', container: 'drs', folder: 'site-a' },
      { kind: 'pageBlob', blobServiceUrl: vaultUrl, container: 'emu', folder: '' },
      { kind: 'managedDisk', subscriptionId: '0f8fad5b-d9cb-469f-a165-70867728950e', resourceGroup: 'rg-Restores' },
    ]);
  });

  test.each([
    ['deltavault', /entry 1 of 1 names the vault container/],
    ['http://127.0.0.1:10000/devstoreaccount1/deltavault/x', /names the vault container/],
    ['Restores', /does not name a container/],
    ['restores/../deltavault', /"\." or "\.\." segment/],
    ['restores//x', /empty/],
    ['https://other.blob.core.windows.net/dr?sv=1&sig=SIGSIGSIGSIG', /must not carry a query string/],
    ['http://other.blob.core.windows.net/dr', /must be an https:\/\/ URL/],
    ['/subscriptions/nope/resourceGroups/rg', /not \/subscriptions\/<subscription id>\/resourceGroups\/<resource group>/],
  ])('restore target %p is refused', (entry, message) => {
    const err = invalid({ ...base, DELTAVAULT_RESTORE_TARGETS: entry });
    expect(problemsOf(err)).toEqual([{ setting: 'DELTAVAULT_RESTORE_TARGETS', problem: expect.stringMatching(message) }]);
    expect(err.message).not.toContain('SIGSIGSIGSIG');
  });

  test('the allow-list admits blobs in its containers and folders, and nothing else', () => {
    const vaultUrl = 'https://vaultacct.blob.core.windows.net';
    const { targets } = parseRestoreTargets('restores,staging/vm1,/subscriptions/0f8fad5b-d9cb-469f-a165-70867728950e/resourceGroups/rg1', vaultUrl, 'deltavault');
    const blob = (container: string, name: string, url = vaultUrl) => ({ kind: 'pageBlob' as const, blobServiceUrl: url, container, blob: name });
    expect(isRestoreAllowed(targets, blob('restores', 'vm1/os.vhd'))).toBe(true);
    expect(isRestoreAllowed(targets, blob('restores', 'os.vhd'))).toBe(true);
    expect(isRestoreAllowed(targets, blob('restores', 'a/../../deltavault/x'))).toBe(false);
    expect(isRestoreAllowed(targets, blob('restores', 'a\\b'))).toBe(false);
    expect(isRestoreAllowed(targets, blob('restores', 'https://other.blob.core.windows.net'))).toBe(false);
    expect(isRestoreAllowed(targets, blob('restores', 'x.vhd', 'https://other.blob.core.windows.net'))).toBe(false);
    expect(isRestoreAllowed(targets, blob('deltavault', 'x.vhd'))).toBe(false);
    expect(isRestoreAllowed(targets, blob('staging', 'vm1/os.vhd'))).toBe(true);
    expect(isRestoreAllowed(targets, blob('staging', 'vm10/os.vhd'))).toBe(false);
    expect(isRestoreAllowed(targets, blob('staging', 'vm1'))).toBe(false);
    expect(isRestoreAllowed(targets, { kind: 'managedDisk', subscriptionId: '0F8FAD5B-D9CB-469F-A165-70867728950E', resourceGroup: 'RG1' })).toBe(true);
    expect(isRestoreAllowed(targets, { kind: 'managedDisk', subscriptionId: '0f8fad5b-d9cb-469f-a165-70867728950e', resourceGroup: 'rg2' })).toBe(false);
    expect(isRestoreAllowed([], blob('restores', 'x.vhd'))).toBe(false);
  });
});

describe('Azure Resource Manager', () => {
  const CLIENT = '00000000-0000-0000-0000-0000000000aa';
  test('defaults: management.azure.com with DefaultAzureCredential; an identity-based vault lends its identity', () => {
    expect(loadSettings({ DELTAVAULT_VAULT: ACCOUNT }, { cwd: '/app' }).arm).toEqual({ endpoint: 'https://management.azure.com', credential: 'default' });
    const withIdentity = loadSettings({ ...IDENTITY, DELTAVAULT_VAULT__credential: 'managedidentity', DELTAVAULT_VAULT__clientId: CLIENT }, { cwd: '/app' });
    expect(withIdentity.arm).toEqual({ endpoint: 'https://management.azure.com', credential: 'managedidentity', clientId: CLIENT });
    expect(armCredential(withIdentity.arm)).toBeInstanceOf(ManagedIdentityCredential);
    expect(armCredential(loadSettings({ DELTAVAULT_VAULT: ACCOUNT }, { cwd: '/app' }).arm)).toBeInstanceOf(DefaultAzureCredential);
  });

  test('its own endpoint, credential and client id', () => {
    const settings = loadSettings(
      { DELTAVAULT_VAULT: ACCOUNT, DELTAVAULT_ARM__endpoint: 'https://management.usgovcloudapi.net/', DELTAVAULT_ARM__credential: 'ManagedIdentity', DELTAVAULT_ARM__clientId: CLIENT.toUpperCase() },
      { cwd: '/app' },
    );
    expect(settings.arm).toEqual({ endpoint: 'https://management.usgovcloudapi.net', credential: 'managedidentity', clientId: CLIENT });
  });

  test('problems name the exact setting', () => {
    const err = invalid({
      DELTAVAULT_VAULT: ACCOUNT,
      DELTAVAULT_ARM__endpoint: 'http://management.azure.com',
      DELTAVAULT_ARM__credential: 'password',
      DELTAVAULT_ARM__clientId: 'me',
      DELTAVAULT_ARM__tenant: 'x',
    });
    expect(problemsOf(err).map((p) => p.setting).sort()).toEqual([
      'DELTAVAULT_ARM__clientId',
      'DELTAVAULT_ARM__credential',
      'DELTAVAULT_ARM__endpoint',
      'DELTAVAULT_ARM__tenant',
    ]);
  });
});

describe('storage clients', () => {
  test('a connection string: clients on the account, the vault container and the events queue', () => {
    const clients = createStorageClients(loadSettings({ DELTAVAULT_VAULT: EMULATOR_ON_ODD_PORTS, DELTAVAULT_VAULT_CONTAINER: 'vault-x', DELTAVAULT_EVENTS_QUEUE: 'events-x' }));
    expect(clients.vaultContainer.url).toBe('http://127.0.0.1:41001/devstoreaccount1/vault-x');
    expect(clients.eventsQueue.url).toBe('http://127.0.0.1:41002/devstoreaccount1/events-x');
  });

  test('the identity-based form: the service URLs with ManagedIdentityCredential or DefaultAzureCredential', () => {
    const s = loadSettings({ ...IDENTITY, DELTAVAULT_VAULT__credential: 'managedidentity' });
    const clients = createStorageClients(s);
    expect(clients.vaultContainer.url).toBe('https://vaultacct.blob.core.windows.net/deltavault');
    expect(clients.eventsQueue.url).toBe('https://vaultacct.queue.core.windows.net/deltavault-events');
    if (s.vault.kind !== 'identity') throw new Error('expected an identity connection');
    expect(identityCredential(s.vault)).toBeInstanceOf(ManagedIdentityCredential);
    expect(identityCredential({ ...s.vault, credential: 'default' })).toBeInstanceOf(DefaultAzureCredential);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

/** A secret: a random account key, or a random SAS signature. */
const secretArb = fc.uint8Array({ minLength: 18, maxLength: 64 }).map((b) => Buffer.from(b).toString('base64'));

/** Ways an operator can get a setting wrong while a secret is in it (each makes the settings invalid). */
const MISTAKES: Array<(secret: string) => Record<string, string>> = [
  (k) => ({ DELTAVAULT_VAULT: k }),
  (k) => ({ DELTAVAULT_VAULT: `AccountKey=${k}` }),
  (k) => ({ DELTAVAULT_VAULT: `AccountName=vaultacct;AccountKey=${k}!` }),
  (k) => ({ DELTAVAULT_VAULT: `AccountName=Bad_Name;AccountKey=${k}` }),
  (k) => ({ DELTAVAULT_VAULT: `${k}=${k};AccountName=vaultacct` }),
  (k) => ({ DELTAVAULT_VAULT: `AccountName=vaultacct;AccountKey=${k};SharedAccessSignature=sig=${k}` }),
  (k) => ({ DELTAVAULT_VAULT: `BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=2022&sig=${encodeURIComponent(k)}` }),
  (k) => ({ DELTAVAULT_VAULT: `BlobEndpoint=https://a.blob.core.windows.net/?sig=${k};QueueEndpoint=https://a.queue.core.windows.net;SharedAccessSignature=sig=${k}` }),
  (k) => ({ DELTAVAULT_VAULT: 'UseDevelopmentStorage=true', AzureWebJobsStorage: `AccountName=prodacct;AccountKey=${k}` }),
  (k) => ({ DELTAVAULT_VAULT: 'UseDevelopmentStorage=true', AzureWebJobsStorage: `AccountName=prodacct;AccountKey=${k}!;` }),
  (k) => ({ DELTAVAULT_VAULT__blobServiceUri: `https://a.blob.core.windows.net/?sv=1&sig=${k}` }),
  (k) => ({ DELTAVAULT_VAULT__blobServiceUri: k, DELTAVAULT_VAULT__clientSecret: k }),
  (k) => ({ DELTAVAULT_VAULT: `AccountName=vaultacct;AccountKey=${KEY}`, DELTAVAULT_VAULT__clientId: k }),
  (k) => ({ DELTAVAULT_VAULT_CONTAINER: `AccountKey=${k}` }),
  (k) => ({ DELTAVAULT_EVENTS_QUEUE: `${k}_` }),
  (k) => ({ DELTAVAULT_RESTORE_TARGETS: `restores,https://a.blob.core.windows.net/r?sig=${k},${k}` }),
  (k) => ({ DELTAVAULT_CONFIG: `https://a.blob.core.windows.net/c/p.json?sv=1&sig=${k}` }),
];

describe('properties', () => {
  test('no secret put into any setting ever appears in an error, its details or its JSON', () => {
    fc.assert(
      fc.property(
        secretArb,
        fc.uniqueArray(fc.integer({ min: 0, max: MISTAKES.length - 1 }), { minLength: 1, maxLength: 4 }),
        (secret, picks) => {
          const env: Record<string, string> = { DELTAVAULT_VAULT: 'UseDevelopmentStorage=true' };
          for (const pick of picks) Object.assign(env, (MISTAKES[pick] as (k: string) => Record<string, string>)(secret));
          // A mistake that sets identity parts removes the connection string it would conflict with.
          if (Object.keys(env).some((k) => k.startsWith('DELTAVAULT_VAULT__')) && picks.every((p) => p !== 12)) delete env.DELTAVAULT_VAULT;
          let caught: unknown;
          try {
            loadSettings(env);
          } catch (e) {
            caught = e;
          }
          expect(caught).toBeInstanceOf(DeltavaultError);
          const err = caught as DeltavaultError;
          for (const text of [err.message, JSON.stringify(err), JSON.stringify(err.details), inspect(err.details, { depth: 5 })]) {
            expect(text).not.toContain(secret);
            expect(text).not.toContain(encodeURIComponent(secret));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  test('valid account connection strings load, reveal themselves intact, and never show their key', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9]{3,24}$/),
        fc.uint8Array({ minLength: 32, maxLength: 64 }).map((b) => Buffer.from(b).toString('base64')),
        fc.constantFrom('https', 'http'),
        fc.constantFrom('core.windows.net', 'core.usgovcloudapi.net'),
        (account, key, protocol, suffix) => {
          const connectionString = `DefaultEndpointsProtocol=${protocol};AccountName=${account};AccountKey=${key};EndpointSuffix=${suffix}`;
          const s: Settings = loadSettings({ DELTAVAULT_VAULT: connectionString });
          expect(s.vault.kind === 'connectionString' && s.vault.connectionString.reveal()).toBe(connectionString);
          expect(s.vault.blobServiceUrl).toBe(`${protocol}://${account}.blob.${suffix}`);
          for (const shown of [JSON.stringify(s), inspect(s, { depth: 10 }), String(s.vault.kind === 'connectionString' && s.vault.connectionString)]) {
            expect(shown).not.toContain(key);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('container and queue names: accepted exactly when a naive reading of the rules accepts them', () => {
    const naive = (name: string): boolean =>
      name.length >= 3 &&
      name.length <= 63 &&
      [...name].every((c) => (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c === '-') &&
      name[0] !== '-' &&
      name[name.length - 1] !== '-' &&
      !name.includes('--');
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'z', '0', '9', '-', 'A', '_', '.'), minLength: 0, maxLength: 70 }), (name) => {
        let ok = true;
        try {
          loadSettings({ DELTAVAULT_VAULT: 'UseDevelopmentStorage=true', DELTAVAULT_VAULT_CONTAINER: name, DELTAVAULT_EVENTS_QUEUE: name });
        } catch {
          ok = false;
        }
        // A blank value falls back to the default name.
        expect(ok).toBe(name.trim() === '' || naive(name));
      }),
      { numRuns: 1000 },
    );
  });

  test('a folder entry admits exactly the blobs below it, segment by segment', () => {
    const segment = fc.constantFrom('a', 'b', 'ab', '.', '..', '', 'a\\b');
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', 'b', 'ab'), { minLength: 0, maxLength: 3 }), fc.array(segment, { minLength: 1, maxLength: 5 }), (folder, blob) => {
        const entry = ['restores', ...folder].join('/');
        const { targets, problems } = parseRestoreTargets(entry, 'https://v.blob.core.windows.net', 'deltavault');
        expect(problems).toEqual([]);
        const plain = blob.every((s) => s !== '' && s !== '.' && s !== '..' && !s.includes('\\'));
        const below = blob.length > folder.length && folder.every((s, i) => blob[i] === s);
        const destination = { kind: 'pageBlob' as const, blobServiceUrl: 'https://v.blob.core.windows.net', container: 'restores', blob: blob.join('/') };
        expect(isRestoreAllowed(targets, destination)).toBe(plain && below);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('secrets', () => {
  test('a Secret hides from JSON, String and inspect', () => {
    const secret = new Secret(ACCOUNT);
    expect(JSON.stringify({ secret })).toBe('{"secret":"[secret]"}');
    expect(`${secret}`).toBe('[secret]');
    expect(inspect({ secret })).not.toContain(KEY);
    expect(secret.reveal()).toBe(ACCOUNT);
  });

  test('redactSecrets scrubs keys, SAS tokens, URL queries and bearer tokens', () => {
    const text =
      `failed with ${ACCOUNT} at https://a.blob.core.windows.net/c/b?sv=1&sig=abc%2Bdef and sig=zzz; ` +
      'Authorization: Bearer eyJ0eXAiOiJKV1Qi.abc.def';
    const out = redactSecrets(text, ['known-secret-value']);
    expect(out).not.toContain(KEY);
    expect(out).not.toContain('abc%2Bdef');
    expect(out).not.toContain('zzz');
    expect(out).not.toContain('eyJ0eXAiOiJKV1Qi');
    expect(out).toContain('AccountName=vaultacct');
    expect(out).toContain('https://a.blob.core.windows.net/c/b?[redacted]');
    expect(redactSecrets('x known-secret-value y', ['known-secret-value'])).toBe('x [redacted] y');
  });
});
