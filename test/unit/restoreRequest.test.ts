/** The restore workflow's pure parts: the request schema, the orchestration input and the instance id. */
import { parseRestoreInput, restoreRequestSchema } from '../../src/workflows/inputs';
import { RESTORE_INSTANCE_ID, restoreInstanceId } from '../../src/workflows/names';

const RP = 'vm1.20240305T070809010Z';

describe('POST /api/restores body', () => {
  test('accepts a page-blob target and a managed-disk target', () => {
    expect(restoreRequestSchema.safeParse({ recoveryPointId: RP, target: { kind: 'pageBlob', container: 'restores', blob: 'a/b.vhd' } }).success).toBe(true);
    expect(restoreRequestSchema.safeParse({ recoveryPointId: RP, target: { kind: 'managedDisk', resourceGroup: 'rg', name: 'd' } }).success).toBe(true);
  });

  test.each([
    ['a wrong kind', { recoveryPointId: RP, target: { kind: 'floppy', container: 'restores', blob: 'b' } }],
    ['a missing blob', { recoveryPointId: RP, target: { kind: 'pageBlob', container: 'restores' } }],
    ['a missing recovery point', { target: { kind: 'pageBlob', container: 'restores', blob: 'b' } }],
    ['an unknown member', { recoveryPointId: RP, target: { kind: 'pageBlob', container: 'restores', blob: 'b' }, force: true }],
    ['a bad container name', { recoveryPointId: RP, target: { kind: 'pageBlob', container: 'Re_stores', blob: 'b' } }],
    ['not an object', 'restore please'],
  ])('refuses %s', (_what, body) => {
    expect(restoreRequestSchema.safeParse(body).success).toBe(false);
  });

  test('the orchestration input is checked too', () => {
    expect(() => parseRestoreInput({ recoveryPointId: RP, target: { kind: 'managedDisk' } })).toThrow(/restore input/);
    expect(parseRestoreInput({ recoveryPointId: RP, target: { kind: 'pageBlob', container: 'restores', blob: 'b' } }).target).toMatchObject({ blob: 'b' });
  });
});

describe('restoreInstanceId', () => {
  test('is deterministic per target and differs between targets', () => {
    const a = restoreInstanceId('http://127.0.0.1:10000/devstoreaccount1/restores/a.vhd');
    expect(a).toMatch(RESTORE_INSTANCE_ID);
    expect(restoreInstanceId('http://127.0.0.1:10000/devstoreaccount1/restores/a.vhd')).toBe(a);
    expect(restoreInstanceId('http://127.0.0.1:10000/devstoreaccount1/restores/b.vhd')).not.toBe(a);
  });
});
