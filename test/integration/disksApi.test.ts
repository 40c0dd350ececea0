/**
 * GET /api/disks answers for every disk even when one disk's newest recovery point cannot be
 * read: that disk's row says why (`error`), shows no point and an RPO not met, and the other
 * rows are as they would be. At 3 a.m. one damaged manifest must not hide every other disk.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { TableClient } from '@azure/data-tables';
import { disksApi, type DiskStatus } from '../../src/api/disksApi';
import { runBackup } from '../../src/backup/runBackup';
import { parseProtectionConfig } from '../../src/config/protectionConfig';
import { PageBlobSource } from '../../src/disks/pageBlobSource';
import { VaultDisk } from '../../src/vault/vaultDisk';
import { vaultPaths } from '../../src/vault/vaultLayout';
import { writePattern } from '../support/diskData';
import { testStorage } from '../support/devhost';
import { freshContainer } from '../support/storage';

const MiB = 1024 * 1024;

test('a damaged newest manifest is that disk\'s error, not the whole answer\'s', async () => {
  const container = await freshContainer('disksapi');
  const table = TableClient.fromConnectionString(testStorage(), `jobs${randomBytes(5).toString('hex')}`, { allowInsecureConnection: true });
  await table.createTable();
  const points: Record<string, string> = {};
  for (const key of ['alpha', 'beta']) {
    const blob = container.getPageBlobClient(`source/${key}.vhd`);
    await blob.create(4 * MiB);
    await writePattern(blob, 0, MiB, (at) => `${key}@${at}`);
    points[key] = (await runBackup(new PageBlobSource(container, blob), new VaultDisk(container, key), `job-${key}`)).recoveryPoint.id;
  }
  await container.getBlockBlobClient(vaultPaths.manifest('beta', points.beta!)).upload('{"version": 99', 14);
  const config = parseProtectionConfig(
    {
      policies: [{ name: 'hourly', schedule: '0 0 * * * *', retention: { keepLast: 3 } }],
      disks: ['alpha', 'beta'].map((key) => ({ key, policy: 'hourly', source: container.getPageBlobClient(`source/${key}.vhd`).url })),
    },
    'test config',
  );
  const api = disksApi({ config: async () => config, vaultContainer: container, jobsTable: table, now: () => new Date() });
  const answer = await api.listDisks({}, { invocationId: randomUUID(), error: jest.fn() });
  expect(answer.status).toBe(200);
  const [alpha, beta] = answer.jsonBody as DiskStatus[];
  expect(alpha).toMatchObject({ key: 'alpha', lastRecoveryPoint: { id: points.alpha }, rpo: { met: true } });
  expect(alpha!.error).toBeUndefined();
  expect(beta).toMatchObject({ key: 'beta', lastRecoveryPoint: null, rpo: { met: false }, error: { code: 'MANIFEST_INVALID' } });
  expect(beta!.error!.message).toContain(points.beta);
  await Promise.allSettled([table.deleteTable(), container.delete()]);
}, 60_000);
