/**
 * The ARM paths the Compute client calls for disks, snapshots and virtual machines, parsed into
 * one tagged union. ARM compares path segments and resource names case-insensitively; names are
 * kept as the client spelled them.
 */
export type ResourceKind = 'disks' | 'snapshots' | 'virtualMachines';

export const RESOURCE_TYPES: Record<ResourceKind, string> = {
  disks: 'Microsoft.Compute/disks',
  snapshots: 'Microsoft.Compute/snapshots',
  virtualMachines: 'Microsoft.Compute/virtualMachines',
};

export type ArmRoute =
  | { kind: 'resource'; subscriptionId: string; resourceGroup: string; type: ResourceKind; name: string }
  | { kind: 'action'; subscriptionId: string; resourceGroup: string; type: ResourceKind; name: string; action: 'beginGetAccess' | 'endGetAccess' }
  | { kind: 'list'; subscriptionId: string; resourceGroup?: string; type: ResourceKind }
  | { kind: 'operation'; subscriptionId: string; location: string; operationId: string }
  | { kind: 'unknown' };

function resourceKind(segment: string | undefined): ResourceKind | undefined {
  const s = segment?.toLowerCase();
  if (s === 'disks') return 'disks';
  if (s === 'snapshots') return 'snapshots';
  if (s === 'virtualmachines') return 'virtualMachines';
  return undefined;
}

/** Parses a request path (no query string). */
export function parseRoute(path: string): ArmRoute {
  const seg = path.split('/').filter((s) => s.length > 0).map((s) => decodeURIComponent(s));
  const is = (i: number, word: string): boolean => seg[i]?.toLowerCase() === word.toLowerCase();
  if (!is(0, 'subscriptions') || !seg[1]) return { kind: 'unknown' };
  const subscriptionId = seg[1];
  // /subscriptions/{s}/providers/Microsoft.Compute/...
  if (is(2, 'providers') && is(3, 'Microsoft.Compute')) {
    if (is(4, 'locations') && seg[5] && (is(6, 'DiskOperations') || is(6, 'operations')) && seg[7] && seg.length === 8) {
      return { kind: 'operation', subscriptionId, location: seg[5], operationId: seg[7] };
    }
    const type = resourceKind(seg[4]);
    if (type && seg.length === 5) return { kind: 'list', subscriptionId, type };
    return { kind: 'unknown' };
  }
  // /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/{type}[/{name}[/{action}]]
  if (is(2, 'resourceGroups') && seg[3] && is(4, 'providers') && is(5, 'Microsoft.Compute')) {
    const resourceGroup = seg[3];
    const type = resourceKind(seg[6]);
    if (!type) return { kind: 'unknown' };
    if (seg.length === 7) return { kind: 'list', subscriptionId, resourceGroup, type };
    const name = seg[7];
    if (!name) return { kind: 'unknown' };
    if (seg.length === 8) return { kind: 'resource', subscriptionId, resourceGroup, type, name };
    if (seg.length === 9 && type !== 'virtualMachines') {
      if (is(8, 'beginGetAccess')) return { kind: 'action', subscriptionId, resourceGroup, type, name, action: 'beginGetAccess' };
      if (is(8, 'endGetAccess')) return { kind: 'action', subscriptionId, resourceGroup, type, name, action: 'endGetAccess' };
    }
  }
  return { kind: 'unknown' };
}

export function resourceId(subscriptionId: string, resourceGroup: string, type: ResourceKind, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/${RESOURCE_TYPES[type]}/${name}`;
}

/** Parses a Compute resource id (as found in `sourceResourceId` or `managedDisk.id`). */
export function parseResourceId(id: string): { subscriptionId: string; resourceGroup: string; type: ResourceKind; name: string } | undefined {
  const route = parseRoute(id);
  if (route.kind !== 'resource') return undefined;
  return { subscriptionId: route.subscriptionId, resourceGroup: route.resourceGroup, type: route.type, name: route.name };
}
