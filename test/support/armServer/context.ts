/** What every handler of the ARM test server works with, and what it answers. */
import type { AccessGrants } from './accessGrants';
import type { DiskDataStore } from './diskData';
import type { ArmOperationKind } from './faults';
import type { SnapshotLimits } from './limits';
import type { Operation, Operations } from './operations';
import type { ResourceStore } from './resourceStore';

export interface ServerContext {
  readonly endpoint: string;
  readonly subscriptionId: string;
  readonly location: string;
  readonly store: ResourceStore;
  readonly data: DiskDataStore;
  readonly grants: AccessGrants;
  readonly operations: Operations;
  readonly limits: SnapshotLimits;
  readonly listPageSize: number;
  /** Seconds sent as `Retry-After` on 202 answers and polls; none when undefined. */
  readonly pollRetryAfterSeconds?: number;
  /** Set by the server when a fault says the operation of this request must fail. */
  startOperation(kind: ArmOperationKind, resourceId: string, work: () => Promise<unknown>): Operation;
}

export interface ArmRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly body: unknown;
  readonly apiVersion: string;
}

export interface ArmResponse {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** The URL the client polls for an operation: its status (`Azure-AsyncOperation`) or, with monitor=true, its `Location`. */
export function operationUrl(ctx: ServerContext, op: Operation, apiVersion: string, monitor: boolean): string {
  const segment = op.record.kind.startsWith('virtualMachines.') ? 'operations' : 'DiskOperations';
  const base = `${ctx.endpoint}/subscriptions/${ctx.subscriptionId}/providers/Microsoft.Compute/locations/${ctx.location}/${segment}/${op.record.id}`;
  return `${base}?${monitor ? 'monitor=true&' : ''}api-version=${apiVersion}`;
}

/**
 * The 2xx answer that starts a long-running operation, with the headers the Compute spec gives
 * that operation: `Azure-AsyncOperation` and/or `Location`.
 */
export function acceptedOperation(
  ctx: ServerContext,
  op: Operation,
  apiVersion: string,
  answer: { status: 200 | 201 | 202; body?: unknown; asyncOperation: boolean; location: boolean },
): ArmResponse {
  const headers: Record<string, string> = {};
  if (answer.asyncOperation) headers['azure-asyncoperation'] = operationUrl(ctx, op, apiVersion, false);
  if (answer.location) headers['location'] = operationUrl(ctx, op, apiVersion, true);
  if (ctx.pollRetryAfterSeconds !== undefined) headers['retry-after'] = String(ctx.pollRetryAfterSeconds);
  return { status: answer.status, body: answer.body, headers };
}
