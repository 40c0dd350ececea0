/**
 * Disks and snapshots (Microsoft.Compute/disks, /snapshots, api-version 2025-01-02), as the
 * DiskRP OpenAPI spec describes them:
 * - PUT creates (or updates) and answers 202 with the resource (`provisioningState: Updating`),
 *   `Azure-AsyncOperation` and `Location`; the client then GETs the resource.
 * - PATCH, DELETE, POST beginGetAccess and POST endGetAccess answer 202 with `Location` (the
 *   spec's examples); the Location answers 202 until done, then 200 with the final body
 *   (`{ accessSAS }` for beginGetAccess, nothing otherwise) or the ARM error.
 * - DELETE of a resource that does not exist answers 204, as ARM does.
 * createOption Empty (diskSizeGB), Upload (uploadSizeBytes: a fixed VHD, so whole MiB plus the
 * 512-byte footer), Import (sourceUri of a page blob) and Copy (sourceResourceId of a disk or
 * snapshot) are supported; a snapshot of a disk (Copy) is a blob snapshot of the disk's page blob.
 */
import { randomUUID } from 'node:crypto';
import { ArmError, armErrors } from './armErrors';
import { acceptedOperation, type ArmRequest, type ArmResponse, type ServerContext } from './context';
import { storageFailure } from './diskData';
import type { ArmOperationKind } from './faults';
import { parseResourceId, resourceId, RESOURCE_TYPES } from './routes';
import type { StoredResource } from './resourceStore';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const VHD_FOOTER_BYTES = 512;
const MIN_UPLOAD_BYTES = 20 * MiB + VHD_FOOTER_BYTES;

type DiskKind = 'disks' | 'snapshots';

interface Target {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly type: DiskKind;
  readonly name: string;
}

const idOf = (t: Target): string => resourceId(t.subscriptionId, t.resourceGroup, t.type, t.name);
const opKind = (type: DiskKind, verb: string): ArmOperationKind => `${type}.${verb}` as ArmOperationKind;

function object(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function tagsOf(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(object(value))) {
    if (typeof v !== 'string') throw armErrors.invalidParameter(`Tag '${k}' must have a string value.`, 'tags');
    out[k] = v;
  }
  return out;
}

/** The disk's size as ARM shows it: the page blob less its VHD footer, when it has one. */
function diskBytes(sizeBytes: number): number {
  return sizeBytes % MiB === VHD_FOOTER_BYTES ? sizeBytes - VHD_FOOTER_BYTES : sizeBytes;
}

/** The resource as the ARM GET answer shows it. */
export function diskWire(r: StoredResource): Record<string, unknown> {
  const bytes = r.sizeBytes === undefined ? undefined : diskBytes(r.sizeBytes);
  return {
    id: r.id,
    name: r.name,
    type: RESOURCE_TYPES[r.type],
    location: r.location,
    tags: r.tags,
    sku: r.sku ?? { name: 'Standard_LRS', tier: 'Standard' },
    ...(r.managedBy ? { managedBy: r.managedBy } : {}),
    properties: {
      ...r.properties,
      ...(bytes === undefined ? {} : { diskSizeGB: Math.ceil(bytes / GiB), diskSizeBytes: bytes }),
      ...(r.type === 'snapshots' ? { incremental: r.incremental ?? false } : {}),
      uniqueId: r.uniqueId,
      timeCreated: r.timeCreated.toISOString(),
      provisioningState: r.provisioningState,
      ...(r.diskState ? { diskState: r.diskState } : {}),
    },
  };
}

function requireResource(ctx: ServerContext, t: Target): StoredResource {
  const r = ctx.store.get(idOf(t));
  if (!r) throw armErrors.resourceNotFound(RESOURCE_TYPES[t.type], t.resourceGroup, t.name);
  return r;
}

function requireIdle(r: StoredResource): void {
  if (r.provisioningState === 'Creating' || r.provisioningState === 'Updating' || r.provisioningState === 'Deleting') {
    throw armErrors.conflict(`An operation on '${r.name}' is in progress (provisioningState ${r.provisioningState}); retry when it has finished.`);
  }
}

export async function getDisk(ctx: ServerContext, t: Target): Promise<ArmResponse> {
  return { status: 200, body: diskWire(requireResource(ctx, t)) };
}

export function listDisks(ctx: ServerContext, request: ArmRequest, subscriptionId: string, type: DiskKind, resourceGroup?: string): ArmResponse {
  return page(ctx, request, ctx.store.list(subscriptionId, type, resourceGroup).map(diskWire));
}

/** One page of a list answer, with `nextLink` (a `$skiptoken`) when more follow. */
export function page(ctx: ServerContext, request: ArmRequest, items: unknown[]): ArmResponse {
  const skip = Number(request.query.get('$skiptoken') ?? '0');
  if (!Number.isInteger(skip) || skip < 0) throw armErrors.badRequest('The $skiptoken is invalid.');
  const value = items.slice(skip, skip + ctx.listPageSize);
  const next = skip + ctx.listPageSize < items.length ? skip + ctx.listPageSize : undefined;
  const nextLink = next === undefined ? undefined : `${ctx.endpoint}${request.path}?api-version=${request.apiVersion}&%24skiptoken=${next}`;
  return { status: 200, body: { value, ...(nextLink ? { nextLink } : {}) } };
}

interface CreationPlan {
  readonly properties: Record<string, unknown>;
  readonly diskState?: string;
  readonly incremental?: boolean;
  readonly sourceDiskUniqueId?: string;
  /** Admits the creation against Azure's limits (called when the operation is accepted). */
  readonly admit: () => void;
  /** Makes the bytes; returns the data location and the blob's size. */
  readonly make: (resource: StoredResource) => Promise<void>;
}

function planCreation(ctx: ServerContext, t: Target, properties: Record<string, unknown>): CreationPlan {
  const creationData = object(properties.creationData);
  const createOption = String(creationData.createOption ?? '');
  const incremental = t.type === 'snapshots' ? properties.incremental === true : undefined;
  switch (createOption) {
    case 'Empty': {
      if (t.type === 'snapshots') throw armErrors.invalidParameter("A snapshot cannot be created with createOption 'Empty'.", 'creationData.createOption');
      const gb = properties.diskSizeGB;
      if (typeof gb !== 'number' || !Number.isInteger(gb) || gb < 1) {
        throw armErrors.invalidParameter("diskSizeGB must be a positive whole number for createOption 'Empty'.", 'diskSizeGB');
      }
      return {
        properties,
        diskState: 'Unattached',
        admit: () => undefined,
        make: async (r) => {
          r.data = await ctx.data.createEmpty(r.uniqueId, gb * GiB + VHD_FOOTER_BYTES);
          r.sizeBytes = gb * GiB + VHD_FOOTER_BYTES;
        },
      };
    }
    case 'Upload': {
      if (t.type === 'snapshots') throw armErrors.invalidParameter("The test server does not support createOption 'Upload' for snapshots.", 'creationData.createOption');
      const size = creationData.uploadSizeBytes;
      if (typeof size !== 'number' || !Number.isInteger(size) || size < MIN_UPLOAD_BYTES || (size - VHD_FOOTER_BYTES) % MiB !== 0) {
        throw armErrors.invalidParameter(
          `uploadSizeBytes must be a fixed VHD's size: a whole number of MiB (at least 20 MiB) plus the ${VHD_FOOTER_BYTES}-byte footer, e.g. ${MIN_UPLOAD_BYTES}.`,
          'creationData.uploadSizeBytes',
        );
      }
      return {
        properties,
        diskState: 'ReadyToUpload',
        admit: () => undefined,
        make: async (r) => {
          r.data = await ctx.data.createEmpty(r.uniqueId, size);
          r.sizeBytes = size;
        },
      };
    }
    case 'Import': {
      const sourceUri = creationData.sourceUri;
      if (typeof sourceUri !== 'string' || !/^https?:\/\//i.test(sourceUri)) {
        throw armErrors.invalidParameter("sourceUri must be the URL of a page blob for createOption 'Import'.", 'creationData.sourceUri');
      }
      return {
        properties,
        diskState: t.type === 'disks' ? 'Unattached' : undefined,
        incremental,
        admit: () => undefined,
        make: async (r) => {
          try {
            r.data = await ctx.data.copyPageBlob(r.uniqueId, sourceUri);
            r.sizeBytes = await ctx.data.sizeOf(r.data);
          } catch (e) {
            throw storageFailure(e, 'Importing the source blob');
          }
        },
      };
    }
    case 'Copy': {
      const sourceId = creationData.sourceResourceId;
      const parsed = typeof sourceId === 'string' ? parseResourceId(sourceId) : undefined;
      if (!parsed || parsed.type === 'virtualMachines') {
        throw armErrors.invalidParameter("sourceResourceId must be the id of a managed disk or snapshot for createOption 'Copy'.", 'creationData.sourceResourceId');
      }
      const source = ctx.store.get(String(sourceId));
      if (!source || source.provisioningState !== 'Succeeded' || !source.data) {
        throw armErrors.resourceNotFound(RESOURCE_TYPES[parsed.type], parsed.resourceGroup, parsed.name);
      }
      if (source.diskState === 'ReadyToUpload' || source.diskState === 'ActiveUpload') {
        throw armErrors.operationNotAllowed(`Disk '${source.name}' is being uploaded (${source.diskState}) and cannot be copied or snapshotted.`);
      }
      const sourceDiskUniqueId = source.type === 'disks' ? source.uniqueId : source.sourceDiskUniqueId;
      const withSource = { ...properties, creationData: { ...creationData, sourceUniqueId: source.uniqueId } };
      const snapshotOfDisk = t.type === 'snapshots' && source.type === 'disks';
      return {
        properties: withSource,
        diskState: t.type === 'disks' ? 'Unattached' : undefined,
        incremental,
        sourceDiskUniqueId,
        admit: () => {
          if (t.type === 'snapshots' && incremental && sourceDiskUniqueId) {
            const existing = ctx.store.all().filter((r) => r.type === 'snapshots' && r.incremental && r.sourceDiskUniqueId === sourceDiskUniqueId && r.provisioningState !== 'Failed').length;
            ctx.limits.admitIncrementalSnapshot(sourceDiskUniqueId, source.name, existing);
          }
        },
        make: async (r) => {
          const from = source.data;
          if (!from) throw armErrors.operationFailed('SourceDeleted', `The source '${source.name}' was deleted.`);
          try {
            r.data = snapshotOfDisk ? await ctx.data.snapshot(from) : await ctx.data.copyPageBlob(r.uniqueId, from);
            r.sizeBytes = await ctx.data.sizeOf(r.data);
          } catch (e) {
            throw storageFailure(e, `Copying '${source.name}'`);
          }
        },
      };
    }
    default:
      throw armErrors.invalidParameter(
        `createOption '${createOption}' is not supported by the ARM test server (Empty, Upload, Import and Copy are).`,
        'creationData.createOption',
      );
  }
}

export function putDisk(ctx: ServerContext, request: ArmRequest, t: Target): ArmResponse {
  const body = object(request.body);
  const id = idOf(t);
  const existing = ctx.store.get(id);
  if (existing && existing.provisioningState !== 'Failed') {
    requireIdle(existing);
    return updateDisk(ctx, request, existing, body, 'createOrUpdate');
  }
  if (typeof body.location !== 'string' || !body.location) throw new ArmError(400, 'LocationRequired', 'The location property is required for this definition.');
  const properties = object(body.properties);
  const plan = planCreation(ctx, t, properties);
  plan.admit();
  const resource: StoredResource = {
    id,
    name: t.name,
    type: t.type,
    subscriptionId: t.subscriptionId,
    resourceGroup: t.resourceGroup,
    location: body.location,
    tags: tagsOf(body.tags),
    sku: body.sku,
    properties: plan.properties,
    provisioningState: 'Updating',
    uniqueId: randomUUID(),
    timeCreated: new Date(),
    incremental: plan.incremental,
    sourceDiskUniqueId: plan.sourceDiskUniqueId,
  };
  ctx.store.put(resource);
  const op = ctx.startOperation(opKind(t.type, 'createOrUpdate'), id, async () => {
    try {
      await plan.make(resource);
      resource.diskState = plan.diskState;
      resource.provisioningState = 'Succeeded';
    } catch (e) {
      resource.provisioningState = 'Failed';
      throw e;
    }
  });
  // A fault-failed operation never runs its work: the resource stays Failed, as a failed create does in Azure.
  void op.settle().then(() => {
    if (op.failure && resource.provisioningState !== 'Succeeded') resource.provisioningState = 'Failed';
  });
  return acceptedOperation(ctx, op, request.apiVersion, { status: 202, body: diskWire(resource), asyncOperation: true, location: true });
}

export function patchDisk(ctx: ServerContext, request: ArmRequest, t: Target): ArmResponse {
  const r = requireResource(ctx, t);
  requireIdle(r);
  return updateDisk(ctx, request, r, object(request.body), 'update');
}

/** PATCH, or PUT on an existing resource: tags, and a disk's size (grow only). */
function updateDisk(ctx: ServerContext, request: ArmRequest, r: StoredResource, body: Record<string, unknown>, verb: 'update' | 'createOrUpdate'): ArmResponse {
  const properties = object(body.properties);
  const newTags = body.tags === undefined ? undefined : tagsOf(body.tags);
  const gb = properties.diskSizeGB;
  let newSize: number | undefined;
  if (gb !== undefined) {
    if (r.type !== 'disks' || typeof gb !== 'number' || !Number.isInteger(gb) || gb < 1) throw armErrors.invalidParameter('diskSizeGB must be a positive whole number.', 'diskSizeGB');
    const size = gb * GiB + VHD_FOOTER_BYTES;
    const current = r.sizeBytes ?? 0;
    if (size < current) throw armErrors.operationNotAllowed(`Disk '${r.name}' cannot shrink from ${Math.ceil(diskBytes(current) / GiB)} GB to ${gb} GB.`);
    if (size !== current) {
      if (r.managedBy) throw armErrors.operationNotAllowed(`Disk '${r.name}' is attached to VM '${r.managedBy}' and cannot be resized.`);
      if (ctx.grants.active(r.id).length) throw armErrors.operationNotAllowed(`Disk '${r.name}' has active SAS access and cannot be resized.`);
      newSize = size;
    }
  }
  if (verb === 'createOrUpdate') {
    const creationData = object(properties.creationData);
    const before = object(r.properties.creationData);
    if (creationData.createOption !== undefined && creationData.createOption !== before.createOption) {
      throw new ArmError(409, 'PropertyChangeNotAllowed', "Changing property 'creationData.createOption' is not allowed.", {}, 'creationData.createOption');
    }
  }
  r.provisioningState = 'Updating';
  const op = ctx.startOperation(opKind(r.type as DiskKind, verb), r.id, async () => {
    try {
      if (newSize !== undefined && r.data) {
        await ctx.data.resize(r.data, newSize);
        r.sizeBytes = newSize;
        r.properties = { ...r.properties, diskSizeGB: gb };
      }
      if (newTags) r.tags = newTags;
    } finally {
      r.provisioningState = 'Succeeded';
    }
    return diskWire(r);
  });
  void op.settle().then(() => {
    r.provisioningState = 'Succeeded';
  });
  if (verb === 'createOrUpdate') return acceptedOperation(ctx, op, request.apiVersion, { status: 202, body: diskWire(r), asyncOperation: true, location: true });
  return acceptedOperation(ctx, op, request.apiVersion, { status: 202, asyncOperation: false, location: true });
}

export function deleteDisk(ctx: ServerContext, request: ArmRequest, t: Target): ArmResponse {
  const r = ctx.store.get(idOf(t));
  if (!r) return { status: 204 };
  requireIdle(r);
  if (r.managedBy) throw armErrors.operationNotAllowed(`Disk '${r.name}' is attached to VM '${r.managedBy}' and cannot be deleted.`);
  if (ctx.grants.active(r.id).length > 0) {
    throw armErrors.operationNotAllowed(`${r.type === 'disks' ? 'Disk' : 'Snapshot'} '${r.name}' has active SAS access; call endGetAccess before deleting it.`);
  }
  const op = ctx.startOperation(opKind(t.type, 'delete'), r.id, async () => {
    r.provisioningState = 'Deleting';
    ctx.store.delete(r.id);
    const data = r.data;
    if (!data) return undefined;
    if (data.snapshot) await ctx.data.deleteSnapshot(data);
    // The container holds the disk's blob and its snapshots' blob snapshots: drop it with the last of them.
    const stillUsed = ctx.store.all().some((o) => o.data?.container === data.container);
    if (!stillUsed) await ctx.data.deleteContainer(data.container);
    return undefined;
  });
  void op.settle().then(() => {
    if (op.failure && ctx.store.get(r.id) === r) r.provisioningState = 'Succeeded';
  });
  return acceptedOperation(ctx, op, request.apiVersion, { status: 202, asyncOperation: false, location: true });
}

export function beginGetAccess(ctx: ServerContext, request: ArmRequest, t: Target): ArmResponse {
  const r = requireResource(ctx, t);
  if (r.provisioningState !== 'Succeeded' || !r.data) throw armErrors.conflict(`'${r.name}' is not ready (provisioningState ${r.provisioningState}).`);
  const body = object(request.body);
  const access = body.access;
  const duration = body.durationInSeconds;
  if (access !== 'Read' && access !== 'Write') throw armErrors.invalidParameter("access must be 'Read' or 'Write'.", 'grantAccessData.access');
  if (typeof duration !== 'number' || !Number.isInteger(duration) || duration < 1) {
    throw armErrors.invalidParameter('durationInSeconds must be a positive whole number.', 'grantAccessData.durationInSeconds');
  }
  if (access === 'Write' && !(r.type === 'disks' && (r.diskState === 'ReadyToUpload' || r.diskState === 'ActiveUpload'))) {
    throw armErrors.operationNotAllowed(`Write access can only be granted to a disk created with createOption 'Upload' that is ReadyToUpload; '${r.name}' is ${r.diskState ?? 'a snapshot'}.`);
  }
  if (access === 'Read' && (r.diskState === 'ReadyToUpload' || r.diskState === 'ActiveUpload')) {
    throw armErrors.operationNotAllowed(`Disk '${r.name}' is ${r.diskState}: only Write access can be granted until the upload ends.`);
  }
  if (r.type === 'snapshots' && r.sourceDiskUniqueId && ctx.grants.active(r.id).length === 0) {
    const granted = ctx.store.all().filter((o) => o.type === 'snapshots' && o.sourceDiskUniqueId === r.sourceDiskUniqueId && ctx.grants.active(o.id).length > 0);
    const disk = ctx.store.all().find((o) => o.uniqueId === r.sourceDiskUniqueId);
    ctx.limits.admitSnapshotGrant(disk?.name ?? r.sourceDiskUniqueId, granted.length);
  }
  const data = r.data;
  const op = ctx.startOperation(opKind(t.type, 'grantAccess'), r.id, async () => {
    const { accessSAS } = await ctx.grants.grant(r, data, access, duration);
    if (r.type === 'disks') r.diskState = access === 'Write' ? 'ActiveUpload' : 'ActiveSAS';
    return { accessSAS };
  });
  return acceptedOperation(ctx, op, request.apiVersion, { status: 202, asyncOperation: false, location: true });
}

export function endGetAccess(ctx: ServerContext, request: ArmRequest, t: Target): ArmResponse {
  const r = requireResource(ctx, t);
  const before = r.diskState;
  const op = ctx.startOperation(opKind(t.type, 'revokeAccess'), r.id, async () => {
    await ctx.grants.revokeAll(r.id, 'revoked');
    if (r.type === 'disks' && (before === 'ActiveSAS' || before === 'ActiveUpload')) {
      // After an upload's write access ends, Azure makes the disk usable: Unattached.
      r.diskState = r.managedBy ? 'Attached' : 'Unattached';
    }
    return undefined;
  });
  return acceptedOperation(ctx, op, request.apiVersion, { status: 202, asyncOperation: false, location: true });
}

/** Disk state as of now: a grant that expired by itself ends ActiveSAS / ActiveUpload too. */
export function refreshDiskState(ctx: ServerContext, r: StoredResource): void {
  if (r.type === 'disks' && (r.diskState === 'ActiveSAS' || r.diskState === 'ActiveUpload') && ctx.grants.active(r.id).length === 0) {
    r.diskState = r.diskState === 'ActiveUpload' ? 'ReadyToUpload' : r.managedBy ? 'Attached' : 'Unattached';
  }
}
