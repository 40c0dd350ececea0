/** The protection config (src/config/protectionConfig.ts): what it accepts, what it derives, and
 *  that every problem is reported at once with its JSON path, none quoting a secret. Pure. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import type { DeltavaultError } from '../../src/errors';
import {
  deriveDiskKey,
  diskSourceIdentity,
  formatProtectionConfig,
  jsonPath,
  parseDiskSource,
  parseProtectionConfig,
  PROTECTION_CONFIG_PATTERNS,
} from '../../src/config/protectionConfig';
import { assertDiskKey } from '../../src/vault/vaultLayout';
import { expectDeltavaultError } from '../support/errors';
import { configDocArb, pageBlobUrlArb, policyNameArb, sourceArb } from '../support/protectionConfigs';

const WHERE = '/app/protection.json';
const README = fs.readFileSync(path.join(__dirname, '..', '..', 'README.md'), 'utf8');
const SUB = '00000000-0000-0000-0000-000000000000';
const DISK_ID = `/subscriptions/${SUB}/resourceGroups/rg-prod/providers/Microsoft.Compute/disks/sql1-data`;
const BLOB = 'https://contosovhds.blob.core.windows.net/vhds/vm1-os.vhd';

/** The README's "Protection config" section. */
function readmeSection(): string {
  const start = README.indexOf('## Protection config');
  return README.slice(start, README.indexOf('\n## ', start + 1));
}

function invalid(doc: unknown): DeltavaultError {
  return expectDeltavaultError(() => parseProtectionConfig(doc, WHERE), 'CONFIG_INVALID');
}

function problems(doc: unknown): { path: string; problem: string }[] {
  return invalid(doc).details?.problems as { path: string; problem: string }[];
}

const policy = (name = 'nightly', schedule = '0 0 2 * * *') => ({ name, schedule, retention: { keepLast: 7 } });
const doc = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  policies: [policy()],
  disks: [{ source: BLOB, policy: 'nightly' }],
  ...over,
});

describe('valid configs', () => {
  test("the README's example parses, and its derived key is the one the README names", () => {
    const example = JSON.parse(/```json\n([\s\S]*?)```/.exec(readmeSection())?.[1] ?? 'null') as unknown;
    const config = parseProtectionConfig(example, 'README.md');
    expect(config.policies.map((p) => p.name)).toEqual(['nightly', 'hourly']);
    expect(config.disks.map((d) => d.key)).toEqual(['vhds-vm1-os-255d1310', 'vm1-data', 'sql1-data']);
    expect(readmeSection()).toContain('`vhds-vm1-os-255d1310`');
    expect(config.disks[2]?.source).toEqual({
      kind: 'managedDisk',
      id: DISK_ID,
      subscriptionId: SUB,
      resourceGroup: 'rg-prod',
      diskName: 'sql1-data',
    });
    expect(config.tagSelector).toEqual({ subscriptions: [SUB], resourceGroups: ['rg-prod', 'rg-web'] });
  });

  test('the smallest config: no policies, no disks', () => {
    expect(parseProtectionConfig({ policies: [] }, WHERE)).toEqual({ policies: [], disks: [] });
  });

  test('page blob URLs: the service URL, container and blob name, path-style on the emulator', () => {
    expect(parseDiskSource('https://Acct.Blob.Core.Windows.Net/vhds/vm%201/os.vhd')).toEqual({
      kind: 'pageBlob',
      url: 'https://Acct.Blob.Core.Windows.Net/vhds/vm%201/os.vhd',
      serviceUrl: 'https://acct.blob.core.windows.net',
      container: 'vhds',
      blobName: 'vm 1/os.vhd',
    });
    expect(parseDiskSource('http://127.0.0.1:10000/devstoreaccount1/demo-disks/demo/disk.vhd')).toMatchObject({
      serviceUrl: 'http://127.0.0.1:10000/devstoreaccount1',
      container: 'demo-disks',
      blobName: 'demo/disk.vhd',
    });
    expect(parseDiskSource('https://10.0.0.4:8443/acct/vhds/os.vhd')).toMatchObject({ serviceUrl: 'https://10.0.0.4:8443/acct', container: 'vhds' });
    expect(parseDiskSource('http://[::1]:10000/devstoreaccount1/c01/b')).toMatchObject({ serviceUrl: 'http://[::1]:10000/devstoreaccount1' });
  });

  test('managed disk ids match in any letter case, as ARM does; the same disk in two cases is one disk', () => {
    const lower = DISK_ID.toLowerCase();
    expect(parseDiskSource(lower)).toMatchObject({ kind: 'managedDisk', resourceGroup: 'rg-prod', diskName: 'sql1-data' });
    expect(deriveDiskKey(parseDiskSource(lower)!)).toBe(deriveDiskKey(parseDiskSource(DISK_ID)!));
    expect(problems(doc({ disks: [{ source: DISK_ID, policy: 'nightly' }, { source: lower, policy: 'nightly', key: 'other' }] }))).toEqual([
      { path: '$.disks[1].source', problem: 'is the same disk as $.disks[0].source; protect each disk once' },
    ]);
  });

  test('virtual machine ids: the whole VM, keyed like a disk; a VM and a disk of the same name are different sources', () => {
    const vm = `/subscriptions/${SUB}/resourceGroups/rg-prod/providers/Microsoft.Compute/virtualMachines/sql1`;
    expect(parseDiskSource(vm)).toEqual({ kind: 'virtualMachine', id: vm, subscriptionId: SUB.toLowerCase(), resourceGroup: 'rg-prod', vmName: 'sql1' });
    expect(parseDiskSource(vm.replace('virtualMachines', 'VIRTUALMACHINES'))).toMatchObject({ kind: 'virtualMachine' });
    expect(deriveDiskKey(parseDiskSource(vm)!)).toMatch(/^rg-prod-sql1-[0-9a-f]{8}$/);
    const disk = vm.replace('virtualMachines', 'disks');
    expect(deriveDiskKey(parseDiskSource(vm)!)).not.toBe(deriveDiskKey(parseDiskSource(disk)!));
    const config = parseProtectionConfig(doc({ disks: [{ source: vm, policy: 'nightly', key: 'sql1' }] }), WHERE);
    expect(config.disks[0]).toMatchObject({ key: 'sql1', policy: 'nightly', source: { kind: 'virtualMachine', vmName: 'sql1' } });
  });

  test('derived keys: readable stem, 8 hex digits of the source; valid vault keys, whatever the source', () => {
    expect(deriveDiskKey(parseDiskSource(BLOB)!)).toBe('vhds-vm1-os-255d1310');
    expect(deriveDiskKey(parseDiskSource(DISK_ID)!)).toMatch(/^rg-prod-sql1-data-[0-9a-f]{8}$/);
    const long = `https://a.blob.core.windows.net/c${'x'.repeat(60)}/${'Y_'.repeat(200)}.vhd`;
    expect(deriveDiskKey(parseDiskSource(long)!)).toHaveLength(63);
    fc.assert(
      fc.property(sourceArb, (text) => {
        const source = parseDiskSource(text);
        expect(source).toBeDefined();
        const key = deriveDiskKey(source!);
        expect(() => assertDiskKey(key)).not.toThrow();
        expect(deriveDiskKey(parseDiskSource(text)!)).toBe(key);
      }),
    );
  });

  test("disk keys follow the vault's rule exactly", () => {
    const keyPattern = new RegExp(PROTECTION_CONFIG_PATTERNS.diskKey, 'u');
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[a-z0-9-]{0,66}$/)), (key) => {
        let vaultAccepts = true;
        try {
          assertDiskKey(key);
        } catch {
          vaultAccepts = false;
        }
        expect(keyPattern.test(key)).toBe(vaultAccepts);
      }),
      { numRuns: 500 },
    );
  });

  test("the emulator is one account whatever its port or loopback name: a disk's derived key survives a new port", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 65535 }), fc.constantFrom('127.0.0.1', 'localhost'), (port, host) => {
        const moved = parseDiskSource(`http://${host}:${port}/devstoreaccount1/demo-disks/demo/disk.vhd`)!;
        const standard = parseDiskSource('http://127.0.0.1:10000/devstoreaccount1/demo-disks/demo/disk.vhd')!;
        expect(diskSourceIdentity(moved)).toBe(diskSourceIdentity(standard));
        expect(deriveDiskKey(moved)).toBe(deriveDiskKey(standard));
      }),
    );
  });

  test('valid generated configs parse and round-trip through their document and JSON', () => {
    fc.assert(
      fc.property(configDocArb, (document) => {
        const config = parseProtectionConfig(document, WHERE);
        expect(config.policies.map((p) => p.name)).toEqual(document.policies.map((p) => p.name));
        expect(config.disks).toHaveLength(document.disks?.length ?? 0);
        const again = parseProtectionConfig(JSON.parse(JSON.stringify(formatProtectionConfig(config))), WHERE);
        expect(again).toEqual(config);
        expect(new Set(config.disks.map((d) => d.key)).size).toBe(config.disks.length);
      }),
      { numRuns: 200 },
    );
  });
});

describe('problems, each with its JSON path', () => {
  test.each<[string, unknown, string, RegExp]>([
    ['not an object', [], '$', /^must be an object, not an array$/],
    ['no policies', { disks: [] }, '$.policies', /^is required$/],
    ['an unknown top-level property', doc({ polices: [] }), '$.polices', /is not a known property \(known: \$schema, policies, disks, tagSelector\)/],
    ['an unknown disk property', doc({ disks: [{ source: BLOB, policy: 'nightly', sorce: 1 }] }), '$.disks[0].sorce', /not a known property \(known: source, policy, key\)/],
    ['a bad policy name', doc({ policies: [policy('Nightly')] }), '$.policies[0].name', /lowercase letters/],
    ['a five-field schedule', doc({ policies: [policy('nightly', '0 2 * * *')] }), '$.policies[0].schedule', /did you mean "0 0 2 \* \* \*"\?/],
    ['a Quartz schedule', doc({ policies: [policy('nightly', '0 0 2 ? * MON')] }), '$.policies[0].schedule', /\?, L, W, # or H/],
    ['a too frequent schedule', doc({ policies: [policy('nightly', '*/5 * * * * *')] }), '$.policies[0].schedule', /fires every 5 s/],
    ['a schedule that never fires', doc({ policies: [policy('nightly', '0 0 0 31 2 *')] }), '$.policies[0].schedule', /can fire/],
    ['day of week 7', doc({ policies: [policy('nightly', '0 0 0 * * 7')] }), '$.policies[0].schedule', /day-of-week field: 7 is outside 0-6/],
    ['no retention', doc({ policies: [{ name: 'nightly', schedule: '0 0 2 * * *' }] }), '$.policies[0].retention', /^is required$/],
    ['a retention that keeps nothing', doc({ policies: [{ ...policy(), retention: { daily: 0 } }] }), '$.policies[0].retention', /keeps nothing/],
    ['a fractional count', doc({ policies: [{ ...policy(), retention: { keepLast: 1.5 } }] }), '$.policies[0].retention.keepLast', /whole number/],
    ['a SAS URL', doc({ disks: [{ source: `${BLOB}?sv=2024&sig=c2VjcmV0`, policy: 'nightly' }] }), '$.disks[0].source', /no SAS token/],
    ['plain http to a remote host', doc({ disks: [{ source: 'http://acct.blob.core.windows.net/c01/b', policy: 'nightly' }] }), '$.disks[0].source', /https/],
    ['a URL without a blob', doc({ disks: [{ source: 'https://acct.blob.core.windows.net/vhds', policy: 'nightly' }] }), '$.disks[0].source', /not a page blob URL/],
    ['an emulator URL without the account', doc({ disks: [{ source: 'http://127.0.0.1:10000/vhds/os.vhd', policy: 'nightly' }] }), '$.disks[0].source', /not a page blob URL/],
    ['a bad managed disk id', doc({ disks: [{ source: '/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/disks/d', policy: 'nightly' }] }), '$.disks[0].source', /not a managed disk or virtual machine resource id/],
    ['a bad VM id', doc({ disks: [{ source: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/-vm', policy: 'nightly' }] }), '$.disks[0].source', /virtualMachines\/<vm name>/],
    ['an unknown policy', doc({ disks: [{ source: BLOB, policy: 'weekly' }] }), '$.disks[0].policy', /names policy 'weekly', which the config does not define \(policies: nightly\)/],
    ['an upper-case key', doc({ disks: [{ source: BLOB, policy: 'nightly', key: 'VM1' }] }), '$.disks[0].key', /lowercase letters/],
    ['an empty tag selector', doc({ tagSelector: { subscriptions: [] } }), '$.tagSelector.subscriptions', /at least one subscription/],
    ['a repeated subscription', doc({ tagSelector: { subscriptions: [SUB, SUB] } }), '$.tagSelector.subscriptions[1]', /repeats item \[0\]/],
  ])('%s', (_name, document, where, problem) => {
    const found = problems(document);
    expect(found.map((p) => p.path)).toContain(where);
    expect(found.find((p) => p.path === where)?.problem).toMatch(problem);
  });

  test('duplicate policy names and keys, given or derived', () => {
    expect(
      problems(
        doc({
          policies: [policy('a'), policy('b'), policy('a')],
          disks: [
            { source: BLOB, policy: 'a', key: 'k1' },
            { source: DISK_ID, policy: 'b', key: 'k1' },
            { source: `${BLOB}2`, policy: 'a', key: 'vhds-vm1-os-255d1310' },
            { source: BLOB.replace('vm1-os', 'vm1_os'), policy: 'a' },
          ],
        }),
      ),
    ).toEqual([
      { path: '$.policies[2].name', problem: 'repeats the name of $.policies[0]; policy names must be unique' },
      { path: '$.disks[1].key', problem: 'is the disk key of $.disks[0] too; disk keys must be unique' },
    ]);
    // One stem, two sources: the hash keeps the derived keys apart.
    const sameStem = [BLOB, BLOB.replace('.vhd', '.bak')];
    const keys = parseProtectionConfig(doc({ disks: sameStem.map((source) => ({ source, policy: 'nightly' })) }), WHERE).disks.map((d) => d.key);
    expect(keys).toEqual(['vhds-vm1-os-255d1310', expect.stringMatching(/^vhds-vm1-os-[0-9a-f]{8}$/)]);
    expect(keys[1]).not.toBe(keys[0]);
  });

  test("a derived key that collides with another disk's key is reported on the disk", () => {
    expect(problems(doc({ disks: [{ source: `${BLOB}2`, policy: 'nightly', key: 'vhds-vm1-os-255d1310' }, { source: BLOB, policy: 'nightly' }] }))).toEqual([
      {
        path: '$.disks[1]',
        problem: `has the derived key 'vhds-vm1-os-255d1310', which is the disk key of $.disks[0] too; disk keys must be unique (give one of them a "key")`,
      },
    ]);
  });

  test("every problem at once, in document order, one line each as '<where>: <path>: <problem>' (the README's example)", () => {
    const err = invalid({
      policies: [{ name: 'nightly', schedule: '0 0 2 * *', retention: { keepLast: 7 } }],
      disks: [{ source: `${BLOB}?sv=2024-11-04&sig=c2VjcmV0`, policy: 'nighty' }],
    });
    const shown = /```text\n([\s\S]*?)```/.exec(readmeSection())?.[1]?.trimEnd();
    expect(err.message).toBe(shown);
    expect(err.message.split('\n').slice(1).every((line) => line.startsWith(`  ${WHERE}: $.`))).toBe(true);
  });

  test('structural and cross-field problems of different entries are all listed', () => {
    const found = problems({
      policies: [policy('a'), { name: 'b', schedule: 5, retention: {} }, policy('a', '*/2 * * * * *')],
      disks: [{ source: 'nope', policy: 'a' }, { policy: 'zzz', source: DISK_ID }, 'disk'],
      tagSelector: { subscriptions: ['not-a-guid'], extra: true },
    });
    expect(found.map((p) => p.path)).toEqual([
      '$.policies[1].schedule',
      '$.policies[1].retention',
      '$.policies[2].name',
      '$.policies[2].schedule',
      '$.disks[0].source',
      '$.disks[1].policy',
      '$.disks[2]',
      '$.tagSelector.subscriptions[0]',
      '$.tagSelector.extra',
    ]);
    expect(found[6]?.problem).toBe('must be an object, not a string');
  });

  test('a disk naming a policy the config does not define is refused, naming that disk and policy', () => {
    fc.assert(
      fc.property(configDocArb, fc.nat(), policyNameArb, (document, pick, unknown) => {
        const names = new Set(document.policies.map((p) => p.name));
        fc.pre(!names.has(unknown));
        const disks = [...(document.disks ?? []), { source: 'https://other.blob.core.windows.net/vhds/extra.vhd', policy: [...names][0] as string }];
        const i = pick % disks.length;
        disks[i] = { ...(disks[i] as (typeof disks)[number]), policy: unknown };
        const err = invalid({ ...document, disks });
        expect(err.details?.problems).toEqual([
          { path: `$.disks[${i}].policy`, problem: expect.stringContaining(`names policy '${unknown}', which the config does not define`) },
        ]);
        expect(err.message).toContain(`${WHERE}: $.disks[${i}].policy: names policy '${unknown}'`);
      }),
      { numRuns: 200 },
    );
  });

  test('no problem quotes a source URL, so a pasted SAS token never reaches a log', () => {
    fc.assert(
      fc.property(pageBlobUrlArb, fc.stringMatching(/^[A-Za-z0-9%+/=]{8,40}$/), fc.constantFrom('?sig=', '?sv=2024&sig=', '#'), (url, token, glue) => {
        const err = invalid(doc({ disks: [{ source: `${url}${glue}${token}`, policy: 'nightly' }] }));
        expect(err.message).not.toContain(token);
        expect(err.message).not.toContain(url);
      }),
    );
  });

  test('JSON paths quote names that are not identifiers', () => {
    expect(jsonPath([])).toBe('$');
    expect(jsonPath(['disks', 3, 'key'])).toBe('$.disks[3].key');
    expect(jsonPath(['a b', '$schema'])).toBe('$["a b"].$schema');
  });
});
