/**
 * The backup of a whole virtual machine, as a Durable orchestration (instance `vmbackup-<vmKey>`):
 *
 *   read the VM's disks (ARM) → backup.started for every disk → snapshot every disk, all at once,
 *   before any copy begins (so the disks' points are taken together) → each disk's own backup
 *   orchestration (instance `backup-<diskKey>`: plan, copy, seal, prune) with its snapshot
 *   already made and the VM backup's time as their points' time (so every disk point of one VM
 *   backup has the same timestamp) → one VM recovery point that groups them.
 *
 * A disk whose snapshot or backup fails ends its own job with backup.failed (its abandon step);
 * the VM then gets no recovery point for this run, and every earlier one stays intact.
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import type { VmDisks } from '../inventory/vmDisks';
import type { SealVmInput, SealVmOutput, SnapshotOutput } from './activities';
import { RETRIES, errorOf, type DiskBackupResult } from './diskBackupOrchestrator';
import { parseVmBackupInput, type DiskBackupInput } from './inputs';
import { ACTIVITIES, ORCHESTRATORS, diskInstanceId, jobIdFor } from './names';
import { unwrap, type Outcome } from './outcome';

export interface VmBackupProgress {
  step: 'disks' | 'snapshot' | 'backup' | 'seal' | 'succeeded' | 'failed';
  disks: number;
}

export interface VmBackupResult {
  vmKey: string;
  vmRecoveryPointId: string;
  disks: { diskKey: string; recoveryPointId: string }[];
}

export const vmBackupOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = parseVmBackupInput(context.df.getInput());
  const takenAt = context.df.currentUtcDateTime;
  const progress: VmBackupProgress = { step: 'disks', disks: 0 };
  const report = (step: VmBackupProgress['step']): void => {
    progress.step = step;
    context.df.setCustomStatus({ ...progress });
  };
  report('disks');
  let vm: VmDisks;
  try {
    vm = unwrap((yield context.df.callActivityWithRetry(ACTIVITIES.vmDisks, RETRIES.metadata(), { vmKey: input.vmKey, vmId: input.vmId })) as Outcome<VmDisks>);
  } catch (e) {
    // No disk job exists yet: the VM's own job (under its key) ends with backup.failed.
    report('failed');
    const jobId = jobIdFor(context.df.instanceId, takenAt);
    yield context.df.callActivityWithRetry(ACTIVITIES.abandon, RETRIES.metadata(), { diskKey: input.vmKey, jobId, sealed: true, error: errorOf(e) });
    throw e;
  }
  progress.disks = vm.disks.length;
  // Each disk's job has the id its own backups have, at the VM backup's time.
  const jobs = vm.disks.map((d) => ({ ...d, jobId: jobIdFor(diskInstanceId(d.diskKey), takenAt) }));
  const ref = (d: (typeof jobs)[number]) => ({ diskKey: d.diskKey, jobId: d.jobId, sourceId: d.diskId });

  report('snapshot');
  let snapshots: SnapshotOutput[];
  try {
    yield context.df.Task.all(
      jobs.map((d) => context.df.callActivityWithRetry(ACTIVITIES.emitStarted, RETRIES.event(), { ...ref(d), policy: input.policy.name, trigger: input.trigger })),
    );
    snapshots = ((yield context.df.Task.all(jobs.map((d) => context.df.callActivityWithRetry(ACTIVITIES.snapshot, RETRIES.metadata(), ref(d))))) as Outcome<SnapshotOutput>[]).map(unwrap);
  } catch (e) {
    report('failed');
    const error = errorOf(e);
    yield context.df.Task.all(jobs.map((d) => context.df.callActivityWithRetry(ACTIVITIES.abandon, RETRIES.metadata(), { ...ref(d), sealed: false, error })));
    throw e;
  }

  report('backup');
  const children: Task[] = jobs.map((d, i) => {
    const child: DiskBackupInput = {
      diskKey: d.diskKey,
      jobId: d.jobId,
      sourceId: d.diskId,
      trigger: input.trigger,
      policy: input.policy,
      prepared: snapshots[i] as SnapshotOutput,
      pointAt: takenAt.toISOString(), // one time for all of the VM's points
    };
    return context.df.callSubOrchestrator(ORCHESTRATORS.diskBackup, child, diskInstanceId(d.diskKey));
  });
  let results: DiskBackupResult[];
  try {
    results = (yield context.df.Task.all(children)) as DiskBackupResult[];
  } catch (e) {
    report('failed');
    throw e; // each failed disk ended its own job with backup.failed
  }

  report('seal');
  const seal: SealVmInput = {
    vmKey: input.vmKey,
    vmId: vm.vmId,
    location: vm.location,
    jobId: jobIdFor(context.df.instanceId, takenAt),
    takenAt: takenAt.toISOString(),
    disks: jobs.map((d, i) => ({
      role: d.role,
      ...(d.lun !== undefined ? { lun: d.lun } : {}),
      diskId: d.diskId,
      diskKey: d.diskKey,
      recoveryPointId: (results[i] as DiskBackupResult).recoveryPointId,
    })),
  };
  const sealed = unwrap((yield context.df.callActivityWithRetry(ACTIVITIES.sealVm, RETRIES.metadata(), seal)) as Outcome<SealVmOutput>);
  report('succeeded');
  const result: VmBackupResult = {
    vmKey: input.vmKey,
    vmRecoveryPointId: sealed.vmRecoveryPointId,
    disks: seal.disks.map((d) => ({ diskKey: d.diskKey, recoveryPointId: d.recoveryPointId })),
  };
  return result;
};
