/**
 * The restore workflow's registrations: the restore orchestration (one target), the VM restore
 * orchestration (one restore per disk of a VM point), their activities, `POST /api/restores` and
 * `GET /api/restores/{id}` (CONTRACT.md). The work is in src/workflows/.
 *
 * `POST /api/restores` checks everything before it starts anything, so a refused request changes
 * nothing: the body (400, 413 over 16 KiB), the allow-list DELTAVAULT_RESTORE_TARGETS (403), the
 * recovery point (404), the target (409 when the blob or managed disk exists or a restore into it
 * still runs). A page blob restore runs as instance `restore-<hash of the target blob>`; a
 * managed disk restore as `restore-<hash of the disk id>`; a VM point's restore as
 * `restore-<hash of the VM point and first disk>` over one restore per disk. It answers 202 +
 * status URLs.
 */
import { type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';
import * as df from 'durable-functions';
import { registerActivities, registerClientRoute } from '../src/workflows/registration';
import { isRestoreAllowed } from '../src/config/restoreTargets';
import { SETTINGS, appSettings } from '../src/config/settings';
import { appStorageClients } from '../src/config/storageClients';
import { DeltavaultError, errors, storageStatus } from '../src/errors';
import { readJsonRequest } from '../src/http/jsonBody';
import { problem, problemResponse } from '../src/http/problem';
import { restoreRequestSchema, vmRestoreInputSchema, type RestoreInput, type RestoreTargetRequest, type VmRestoreInput } from '../src/workflows/inputs';
import { RESTORE_ACTIVITIES, RESTORE_INSTANCE_ID, RESTORE_ORCHESTRATOR, VM_RESTORE_ORCHESTRATOR, restoreInstanceId } from '../src/workflows/names';
import { readRestoreProgress, restoreActivities } from '../src/workflows/restoreActivities';
import { restoreOrchestrator, vmRestoreOrchestrator } from '../src/workflows/restoreOrchestrator';
import { findRestorePoint, managedDiskExists, resolveManagedDiskTargets } from '../src/workflows/restoreResolution';
import { appArmAccess } from '../src/config/armClients';
import { managedDiskId } from '../src/restore/managedDiskTarget';
import { isActiveStatus, runtimeStatusOf } from '../src/workflows/starters';

export const FUNCTION_NAMES = {
  startRestore: 'startRestore',
  getRestore: 'getRestore',
} as const;

/** A larger `POST /api/restores` body is refused unread (413). */
export const MAX_RESTORE_REQUEST_BYTES = 16 * 1024;

const settings = appSettings();
const clients = appStorageClients();

// ---- orchestration and activities

df.app.orchestration(RESTORE_ORCHESTRATOR, restoreOrchestrator);
df.app.orchestration(VM_RESTORE_ORCHESTRATOR, vmRestoreOrchestrator);

const activities = restoreActivities({
  blobService: clients.blobService,
  vaultContainer: clients.vaultContainer,
  eventsQueue: clients.eventsQueue,
});
registerActivities(RESTORE_ACTIVITIES, activities);

// ---- POST /api/restores

registerClientRoute(FUNCTION_NAMES.startRestore, 'POST', 'restores', async (request, client, context) => {
  const read = await readJsonRequest(
    request,
    MAX_RESTORE_REQUEST_BYTES,
    '{ "recoveryPointId": "<id>", "target": { "kind": "pageBlob", "container": "<name>", "blob": "<name>" } }',
    restoreRequestSchema,
    context,
  );
  if ('response' in read) return read.response;
  const { recoveryPointId, target } = read.data;
  if (target.kind === 'managedDisk') return startManagedDiskRestore(request, client, context, recoveryPointId, target);

  const destination = { kind: 'pageBlob' as const, blobServiceUrl: settings.vault.blobServiceUrl, container: target.container, blob: target.blob };
  if (!isRestoreAllowed(settings.restoreTargets, destination)) {
    return problemResponse(
      problem(
        403,
        'INVALID_ARGUMENT',
        `the restore target '${target.container}/${target.blob}' is not admitted by ${SETTINGS.restoreTargets}; restore into a container (or folder) it names`,
        { instance: `urn:uuid:${context.invocationId}` },
      ),
    );
  }
  const point = await findRestorePoint(clients.vaultContainer, recoveryPointId); // 400 for a malformed id, 404 for an unknown one
  if (point.kind === 'vm') throw errors.invalidArgument('target.kind', `'${recoveryPointId}' is a virtual machine's recovery point: restore it to managed disks (target.kind "managedDisk")`);

  const blob = clients.blobService.getContainerClient(target.container).getPageBlobClient(target.blob);
  const instanceId = restoreInstanceId(blob.url);
  const status = await runtimeStatusOf(client, instanceId);
  if (isActiveStatus(status)) throw errors.alreadyExists('restore into target', `${target.container}/${target.blob}`);
  let exists: boolean;
  try {
    exists = await blob.exists();
  } catch (e) {
    throw errors.storage(`checking the restore target ${target.container}/${target.blob}`, e);
  }
  if (exists) throw errors.alreadyExists('restore target blob', `${target.container}/${target.blob}`);

  const input: RestoreInput = { recoveryPointId, target: { kind: 'pageBlob', container: target.container, blob: target.blob } };
  try {
    await client.startNew(RESTORE_ORCHESTRATOR, { instanceId, input });
  } catch (e) {
    if (/already exists|409|conflict/i.test(e instanceof Error ? e.message : String(e))) {
      throw errors.alreadyExists('restore into target', `${target.container}/${target.blob}`);
    }
    throw e;
  }
  context.log(`restore of ${recoveryPointId} into ${target.container}/${target.blob}: started ${instanceId}`);
  return client.createCheckStatusResponse(request, instanceId);
});

/**
 * A restore into new managed disks: one disk for a disk point, one per disk for a VM point
 * (`<name>-os`, `<name>-lun<N>`). Checked before anything starts: the allow-list (403), the
 * point (404), subscription and region (400 when they cannot be defaulted), each target name
 * free (409). A VM point runs one restore orchestration per disk under a VM restore.
 */
async function startManagedDiskRestore(
  request: HttpRequest,
  client: df.DurableClient,
  context: InvocationContext,
  recoveryPointId: string,
  target: Extract<RestoreTargetRequest, { kind: 'managedDisk' }>,
): Promise<HttpResponseInit> {
  const refuse = (where: string) =>
    problemResponse(
      problem(403, 'INVALID_ARGUMENT', `the restore target resource group '${where}' is not admitted by ${SETTINGS.restoreTargets}; restore into a resource group it names`, {
        instance: `urn:uuid:${context.invocationId}`,
      }),
    );
  // Refused before any lookup when no resource group of that name is admitted at all.
  if (!settings.restoreTargets.some((t) => t.kind === 'managedDisk' && t.resourceGroup.toLowerCase() === target.resourceGroup.toLowerCase())) {
    return refuse(target.resourceGroup);
  }
  const point = await findRestorePoint(clients.vaultContainer, recoveryPointId);
  const access = appArmAccess();
  const targets = await resolveManagedDiskTargets(access, point, target);
  const first = targets[0]!.target;
  if (!isRestoreAllowed(settings.restoreTargets, { kind: 'managedDisk', subscriptionId: first.subscriptionId, resourceGroup: first.resourceGroup })) {
    return refuse(`/subscriptions/${first.subscriptionId}/resourceGroups/${first.resourceGroup}`);
  }
  const jobs = targets.map((t) => ({ ...t, instanceId: restoreInstanceId(managedDiskId(t.target)) }));
  for (const job of jobs) {
    if (isActiveStatus(await runtimeStatusOf(client, job.instanceId)) || (await managedDiskExists(access, job.target))) {
      throw errors.alreadyExists('managed disk', managedDiskId(job.target));
    }
  }
  let instanceId: string;
  if (point.kind === 'disk') {
    const job = jobs[0]!;
    instanceId = job.instanceId;
    const input: RestoreInput = { recoveryPointId: job.recoveryPointId, target: job.target };
    await client.startNew(RESTORE_ORCHESTRATOR, { instanceId, input });
  } else {
    instanceId = restoreInstanceId(`vm:${point.point.id}:${managedDiskId(first)}`);
    if (isActiveStatus(await runtimeStatusOf(client, instanceId))) throw errors.alreadyExists('restore of VM point', point.point.id);
    const input: VmRestoreInput = { vmRecoveryPointId: point.point.id, disks: jobs };
    await client.startNew(VM_RESTORE_ORCHESTRATOR, { instanceId, input });
  }
  context.log(`restore of ${recoveryPointId} into ${targets.length} managed disk(s) in ${first.resourceGroup}: started ${instanceId}`);
  return client.createCheckStatusResponse(request, instanceId);
}

// ---- GET /api/restores/{id}

registerClientRoute(FUNCTION_NAMES.getRestore, 'GET', 'restores/{id}', async (request, client) => {
  const id = request.params.id ?? '';
  const unknown = (): DeltavaultError => errors.notFound('restore', RESTORE_INSTANCE_ID.test(id) ? id : '(not a restore id)');
  if (!RESTORE_INSTANCE_ID.test(id)) throw unknown();
  let status: df.DurableOrchestrationStatus | undefined;
  try {
    status = await client.getStatus(id);
  } catch (e) {
    if (storageStatus(e) !== undefined && storageStatus(e) !== 404) throw e;
    status = undefined;
  }
  if (!status?.runtimeStatus) throw unknown();
  // A VM restore's progress is the sum of its disks' restores.
  const children = vmRestoreInputSchema.safeParse(status.input);
  const ids = children.success ? children.data.disks.map((d) => d.instanceId) : [id];
  const progress = { bytesDone: 0, bytesTotal: 0 };
  for (const one of await Promise.all(ids.map((i) => readRestoreProgress(clients.vaultContainer, i)))) {
    progress.bytesDone += one?.bytesDone ?? 0;
    progress.bytesTotal += one?.bytesTotal ?? 0;
  }
  return {
    status: 200,
    jsonBody: {
      id,
      runtimeStatus: status.runtimeStatus,
      createdTime: status.createdTime,
      lastUpdatedTime: status.lastUpdatedTime,
      input: status.input,
      output: status.output,
      progress: { bytesDone: progress.bytesDone, bytesTotal: progress.bytesTotal },
    },
  };
});
