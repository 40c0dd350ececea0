/**
 * The inputs of the backup orchestrations and activities, validated where they enter (an
 * orchestrator checks its input first; zod messages never quote the input). Pure.
 */
import { z } from 'zod';
import { diskKeySchema, jobIdSchema } from '../vault/idSchemas';
import { errors } from '../errors';
import { retentionPolicySchema } from '../retention/retentionPolicy';
import { PROTECTION_CONFIG_PATTERNS } from '../config/protectionConfig';

export const TRIGGERS = ['schedule', 'http'] as const;
export type Trigger = (typeof TRIGGERS)[number];

const diskKey = diskKeySchema;
const jobId = jobIdSchema;

/** A policy as the workflow carries it: its name and retention (the schedule stays with the timer). */
export const workflowPolicySchema = z.object({
  name: z.string().regex(/^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/, { error: 'must be a policy name' }),
  retention: retentionPolicySchema,
});
export type WorkflowPolicy = z.output<typeof workflowPolicySchema>;

/** A managed disk's resource id, for disks the config does not list by key (a VM's, tag-selected ones). */
export const managedDiskIdSchema = z.string().regex(new RegExp(PROTECTION_CONFIG_PATTERNS.managedDiskId, 'u'), { error: 'must be a managed disk resource id' });
export const virtualMachineIdSchema = z.string().regex(new RegExp(PROTECTION_CONFIG_PATTERNS.virtualMachineId, 'u'), { error: 'must be a virtual machine resource id' });

export const diskBackupInputSchema = z.object({
  diskKey,
  jobId: jobId.optional(),
  trigger: z.enum(TRIGGERS),
  policy: workflowPolicySchema,
  /** The managed disk, when the config does not list this disk key itself. */
  sourceId: managedDiskIdSchema.optional(),
  /** Set by a VM backup, which emitted backup.started and took the snapshot (all of the VM's disks together). */
  prepared: z.object({ snapshotId: z.string().min(1).max(1024), sizeBytes: z.number().int().nonnegative() }).optional(),
  /** The recovery point's time, when a VM backup gives all of its disks' points one (ISO). */
  pointAt: z.iso.datetime({ offset: false }).optional(),
});
export type DiskBackupInput = z.output<typeof diskBackupInputSchema>;

export const policyBackupInputSchema = z.object({
  policy: workflowPolicySchema,
  trigger: z.enum(TRIGGERS),
  /** The policy's disks to back up (the starter leaves out busy ones); default: none. */
  disks: z.array(diskKey).max(1000),
  /** Managed disks the config does not list by key (tag-selected), with their ids. */
  managedDisks: z.array(z.object({ key: diskKey, id: managedDiskIdSchema })).max(1000).optional(),
  /** Virtual machines (listed or tag-selected), each backed up whole. */
  vms: z.array(z.object({ key: diskKey, id: virtualMachineIdSchema })).max(1000).optional(),
});

export const vmBackupInputSchema = z.object({
  vmKey: diskKey,
  vmId: virtualMachineIdSchema,
  trigger: z.enum(TRIGGERS),
  policy: workflowPolicySchema,
});
export type VmBackupInput = z.output<typeof vmBackupInputSchema>;

/** The VM orchestration's input, or INVALID_ARGUMENT naming every bad field. */
export function parseVmBackupInput(value: unknown): VmBackupInput {
  return parseInput(vmBackupInputSchema, 'VM backup input', value);
}
export type PolicyBackupInput = z.output<typeof policyBackupInputSchema>;

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(input)'}: ${i.message}`).join('; ');
}

/** `value` as `schema` reads it, or INVALID_ARGUMENT for `what` naming every bad field. */
function parseInput<S extends z.ZodType>(schema: S, what: string, value: unknown): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw errors.invalidArgument(what, describe(parsed.error));
  return parsed.data;
}

/** The disk orchestration's input, or INVALID_ARGUMENT naming every bad field. */
export function parseDiskBackupInput(value: unknown): DiskBackupInput {
  return parseInput(diskBackupInputSchema, 'disk backup input', value);
}

/** The policy orchestration's input, or INVALID_ARGUMENT naming every bad field. */
export function parsePolicyBackupInput(value: unknown): PolicyBackupInput {
  return parseInput(policyBackupInputSchema, 'policy backup input', value);
}

/** `POST /api/backups`: exactly one of `disk` (a disk key or source) and `policy`. */
export const backupRequestSchema = z.union([
  z.strictObject({ disk: z.string().min(1).max(2048) }),
  z.strictObject({ policy: z.string().min(1).max(128) }),
]);
export type BackupRequest = z.output<typeof backupRequestSchema>;

/** A managed disk name (ARM's rule); a VM restore appends `-os` / `-lun<N>` and must stay within 80. */
const MANAGED_DISK_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$/;

/** A restore target as `POST /api/restores` names it. */
export const restoreTargetRequestSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('pageBlob'),
    container: z.string().regex(/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/, { error: 'must be a container name: 3-63 lowercase letters, digits and single hyphens' }),
    blob: z.string().min(1).max(1024),
  }),
  z.strictObject({
    kind: z.literal('managedDisk'),
    resourceGroup: z.string().regex(new RegExp(PROTECTION_CONFIG_PATTERNS.resourceGroup, 'u'), { error: 'must be a resource group name' }),
    /** The new disk's name; for a VM point, the prefix of its disks' names (`<name>-os`, `<name>-lun<N>`). */
    name: z.string().regex(MANAGED_DISK_NAME, { error: 'must be a managed disk name: 1-80 letters, digits, _ . - (not starting with _ . - or ending with . -)' }),
    /** Default: the recovery point's source subscription. */
    subscriptionId: z.string().regex(new RegExp(PROTECTION_CONFIG_PATTERNS.subscriptionId, 'u'), { error: 'must be a subscription id (a GUID)' }).optional(),
    /** Default: the VM's region (VM points) or the source disk's, when it still exists. */
    location: z.string().regex(/^[a-z0-9]{2,40}$/, { error: 'must be an Azure region name such as westeurope' }).optional(),
    sku: z.enum(['Standard_LRS', 'Premium_LRS', 'StandardSSD_LRS', 'UltraSSD_LRS', 'Premium_ZRS', 'StandardSSD_ZRS', 'PremiumV2_LRS']).optional(),
    zone: z.enum(['1', '2', '3']).optional(),
  }),
]);
export type RestoreTargetRequest = z.output<typeof restoreTargetRequestSchema>;


/** `POST /api/restores`. */
export const restoreRequestSchema = z.strictObject({
  recoveryPointId: z.string().min(1).max(256),
  target: restoreTargetRequestSchema,
});
export type RestoreRequest = z.output<typeof restoreRequestSchema>;

/** A resolved managed-disk target (subscription and location known). */
export const managedDiskTargetSchema = z.object({
  kind: z.literal('managedDisk'),
  subscriptionId: z.string().min(1).max(64),
  resourceGroup: z.string().min(1).max(90),
  name: z.string().min(1).max(80),
  location: z.string().min(1).max(64),
  sku: z.string().max(32).optional(),
  zone: z.string().max(4).optional(),
});
export type ManagedDiskTargetInput = z.output<typeof managedDiskTargetSchema>;

/** The restore orchestration's input: a page-blob target in the vault account, or a new managed disk. */
export const restoreInputSchema = z.object({
  recoveryPointId: z.string().min(1).max(256),
  target: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('pageBlob'), container: z.string().min(3).max(63), blob: z.string().min(1).max(1024) }),
    managedDiskTargetSchema,
  ]),
});

/** A VM restore: one restore orchestration per disk of the VM point, each into its own new disk. */
export const vmRestoreInputSchema = z.object({
  vmRecoveryPointId: z.string().min(1).max(256),
  disks: z.array(z.object({ recoveryPointId: z.string().min(1).max(256), target: managedDiskTargetSchema, instanceId: z.string().min(1).max(100) })).min(1).max(64),
});
export type VmRestoreInput = z.output<typeof vmRestoreInputSchema>;

/** The VM restore orchestration's input, or INVALID_ARGUMENT naming every bad field. */
export function parseVmRestoreInput(value: unknown): VmRestoreInput {
  return parseInput(vmRestoreInputSchema, 'VM restore input', value);
}
export type RestoreInput = z.output<typeof restoreInputSchema>;

/** The restore orchestration's input, or INVALID_ARGUMENT naming every bad field. */
export function parseRestoreInput(value: unknown): RestoreInput {
  return parseInput(restoreInputSchema, 'restore input', value);
}

/** The verify orchestration's input. */
export const verifyInputSchema = z.object({ recoveryPointId: z.string().min(1).max(256) });
export type VerifyInput = z.output<typeof verifyInputSchema>;

/** The verify orchestration's input, or INVALID_ARGUMENT naming every bad field. */
export function parseVerifyInput(value: unknown): VerifyInput {
  return parseInput(verifyInputSchema, 'verify input', value);
}
