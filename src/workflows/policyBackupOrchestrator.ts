/**
 * The backup of one policy's disks (one run per timer fire or `POST /api/backups {policy}`):
 * one sub-orchestration per disk, each under the disk's own instance id (`backup-<diskKey>`),
 * and one per virtual machine (`vmbackup-<vmKey>`, which backs up all of its disks together),
 * all at once, then `Task.all`.
 *
 * Busy disks are left out before this orchestration starts: the durable client starter
 * (functions/backups.ts) reads each disk instance's status with `client.getStatus` and emits
 * `backup.skipped` itself for those still running. That check needs the durable client, which
 * orchestrator and activity code do not have, and it works the same in the local host and in
 * Azure, whereas starting a sub-orchestration over a running instance id behaves differently
 * across Durable backends. The remaining race (a disk started by HTTP between the check and
 * the sub-orchestration) fails that sub-orchestration, which this orchestration reports.
 */
import type { OrchestrationContext, OrchestrationHandler, Task } from 'durable-functions';
import type { DiskBackupInput, VmBackupInput } from './inputs';
import { parsePolicyBackupInput } from './inputs';
import { ORCHESTRATORS, diskInstanceId, vmInstanceId } from './names';

export interface PolicyBackupResult {
  policy: string;
  disks: string[];
  /** Present when the run had VMs. */
  vms?: string[];
}

export const policyBackupOrchestrator: OrchestrationHandler = function* (context: OrchestrationContext) {
  const input = parsePolicyBackupInput(context.df.getInput());
  const managed = input.managedDisks ?? [];
  const vms = input.vms ?? [];
  const disks = [...input.disks, ...managed.map((d) => d.key)];
  context.df.setCustomStatus({ step: 'backing up', disks: disks.length, vms: vms.length });
  const tasks: Task[] = [
    ...input.disks.map((diskKey) => {
      const child: DiskBackupInput = { diskKey, trigger: input.trigger, policy: input.policy };
      return context.df.callSubOrchestrator(ORCHESTRATORS.diskBackup, child, diskInstanceId(diskKey));
    }),
    ...managed.map((d) => {
      const child: DiskBackupInput = { diskKey: d.key, sourceId: d.id, trigger: input.trigger, policy: input.policy };
      return context.df.callSubOrchestrator(ORCHESTRATORS.diskBackup, child, diskInstanceId(d.key));
    }),
    ...vms.map((vm) => {
      const child: VmBackupInput = { vmKey: vm.key, vmId: vm.id, trigger: input.trigger, policy: input.policy };
      return context.df.callSubOrchestrator(ORCHESTRATORS.vmBackup, child, vmInstanceId(vm.key));
    }),
  ];
  if (tasks.length > 0) yield context.df.Task.all(tasks);
  context.df.setCustomStatus({ step: 'done', disks: disks.length, vms: vms.length });
  const result: PolicyBackupResult = { policy: input.policy.name, disks, ...(vms.length > 0 ? { vms: vms.map((v) => v.key) } : {}) };
  return result;
};
