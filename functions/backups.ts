/**
 * The backup workflow's registrations: the disk and policy orchestrations, their activities,
 * one timer per policy of the protection config (a durable client starter), and
 * `POST /api/backups` (CONTRACT.md). The work is in src/workflows/.
 *
 * The config must be known when the app registers its functions (one timer per policy), so it
 * is read synchronously here, at load: a file or a blob (DELTAVAULT_CONFIG), or the demo config.
 * An invalid or unreadable config throws and the host does not start.
 *
 * In the demo (no DELTAVAULT_CONFIG, emulator vault) the demo disk is seeded at start, and the
 * demo timer writes a few changes to it before each scheduled backup.
 */
import type { InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { registerActivities, registerClientRoute } from '../src/workflows/registration';
import { appSettings } from '../src/config/settings';
import { appStorageClients } from '../src/config/storageClients';
import { DEMO, usesDemoConfig } from '../src/demo/demoConfig';
import { seedDemoDisk, writeSomeDemoChanges } from '../src/demo/demoDisk';
import { errors } from '../src/errors';
import { readJsonRequest } from '../src/http/jsonBody';
import { backupActivities } from '../src/workflows/activities';
import { appProtectionConfig, configAtLoad, findDisk, findPolicy } from '../src/workflows/appConfig';
import { diskBackupOrchestrator } from '../src/workflows/diskBackupOrchestrator';
import { backupRequestSchema } from '../src/workflows/inputs';
import { ACTIVITIES, BACKUP_OUTCOME_ACTIVITIES, ORCHESTRATORS } from '../src/workflows/names';
import { policyBackupOrchestrator } from '../src/workflows/policyBackupOrchestrator';
import { vmBackupOrchestrator } from '../src/workflows/vmBackupOrchestrator';
import { appArmAccess } from '../src/config/armClients';
import type { ProtectionConfig } from '../src/config/protectionConfig';
import { resolveTagSelector } from '../src/inventory/tagSelection';
import { startDiskBackup, startPolicyBackup } from '../src/workflows/starters';

export const FUNCTION_NAMES = {
  startBackup: 'startBackup',
  /** `backupSchedule-<policy>`, one per policy. */
  schedulePrefix: 'backupSchedule-',
} as const;

/** A larger `POST /api/backups` body is refused unread (413). */
export const MAX_BACKUP_REQUEST_BYTES = 16 * 1024;

const settings = appSettings();
const clients = appStorageClients();
const loadedConfig = configAtLoad(settings);
const config = () => appProtectionConfig(settings, loadedConfig);

// ---- orchestrations and activities

df.app.orchestration(ORCHESTRATORS.diskBackup, diskBackupOrchestrator);
df.app.orchestration(ORCHESTRATORS.policyBackup, policyBackupOrchestrator);
df.app.orchestration(ORCHESTRATORS.vmBackup, vmBackupOrchestrator);

const activities = backupActivities({
  settings,
  config,
  blobService: clients.blobService,
  vaultContainer: clients.vaultContainer,
  eventsQueue: clients.eventsQueue,
});
registerActivities(ACTIVITIES, activities, BACKUP_OUTCOME_ACTIVITIES);

// ---- the demo

const demo = usesDemoConfig(settings);
let demoSeeded: Promise<unknown> | undefined;
let demoRound = 0;
if (demo) {
  demoSeeded = seedDemoDisk(clients.blobService).catch((e: unknown) => {
    demoSeeded = undefined;
    console.error(`seeding the demo disk failed: ${(e as Error).message}`);
  });
}

async function demoChanges(context: InvocationContext): Promise<void> {
  demoSeeded ??= seedDemoDisk(clients.blobService);
  await demoSeeded;
  const round = demoRound++;
  if (round === 0) return; // the first backup takes the seeded disk as it is
  const changes = await writeSomeDemoChanges(clients.blobService, round);
  context.log(`demo: wrote ${changes.bytesWritten} bytes and cleared ${changes.bytesCleared} bytes on the demo disk`);
}

/** The disks and VMs the config's tag selector finds now (none without a selector); what it skips is logged. */
async function tagSelected(current: ProtectionConfig, context: InvocationContext) {
  if (!current.tagSelector) return [];
  const selection = await resolveTagSelector(appArmAccess(), current);
  for (const ignored of selection.ignored) context.warn(`tag selector: ${ignored.id} is not protected: ${ignored.reason}`);
  return selection.selected;
}

// ---- timers: one per policy

for (const policy of loadedConfig.policies) {
  df.app.client.timer(`${FUNCTION_NAMES.schedulePrefix}${policy.name}`, {
    schedule: policy.schedule,
    // The demo backs up once at start, so its first recovery point shows within seconds (only
    // the demo: in Azure, runOnStartup fires on every restart and scale-out).
    runOnStartup: demo && policy.name === DEMO.policy,
    handler: async (_timer, client, context) => {
      const current = await config();
      if (demo && policy.name === DEMO.policy) await demoChanges(context);
      const outcome = await startPolicyBackup(client, clients.eventsQueue, current, policy, 'schedule', new Date(), await tagSelected(current, context));
      context.log(
        `policy '${policy.name}': started ${outcome.instanceId} for ${outcome.disks.length} disk(s)` +
          (outcome.skipped.length > 0 ? `; skipped (still running): ${outcome.skipped.join(', ')}` : ''),
      );
    },
  });
}

// ---- POST /api/backups

registerClientRoute(FUNCTION_NAMES.startBackup, 'POST', 'backups', async (request, client, context) => {
  const read = await readJsonRequest(request, MAX_BACKUP_REQUEST_BYTES, '{ "disk": "<diskKey>" } or { "policy": "<name>" }', backupRequestSchema, context);
  if ('response' in read) return read.response;
  const current = await config();
  if ('disk' in read.data) {
    const disk = findDisk(current, read.data.disk);
    if (!disk) throw errors.notFound('protected disk', read.data.disk);
    const policy = findPolicy(current, disk.policy);
    if (!policy) throw errors.notFound('policy', disk.policy);
    const outcome = await startDiskBackup(client, clients.eventsQueue, disk, policy, 'http');
    context.log(`disk '${disk.key}': ${outcome.started ? 'started' : 'skipped, still running'} ${outcome.instanceId}`);
    return client.createCheckStatusResponse(request, outcome.instanceId);
  }
  const policy = findPolicy(current, read.data.policy);
  if (!policy) throw errors.notFound('policy', read.data.policy);
  const outcome = await startPolicyBackup(client, clients.eventsQueue, current, policy, 'http', new Date(), await tagSelected(current, context));
  context.log(`policy '${policy.name}': started ${outcome.instanceId}`);
  return client.createCheckStatusResponse(request, outcome.instanceId);
});
