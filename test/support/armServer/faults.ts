/**
 * Faults injected on request: a test says which requests should fail and how, and the server
 * answers the next matching requests that way.
 *
 * - `throttle`: a 429 `TooManyRequests` with `Retry-After: <retryAfterSeconds>`; nothing happens.
 * - `serverError`: a 500 `InternalServerError`; nothing happens.
 * - `lroFailed`: the long-running operation is accepted (202) but its work is never done, and
 *   it ends `Failed` with the ARM error `{ code, message }`.
 *
 * A fault matches by HTTP `method`, by `pathPattern` (a RegExp or substring of the request path,
 * no query string), and/or by `operation` (e.g. `snapshots.createOrUpdate`). With `phase: 'poll'`
 * it matches the polling requests of that operation instead of its initial request, which is
 * how a test fails the middle of a beginGetAccess.
 */
export type ArmOperationKind =
  | 'disks.createOrUpdate'
  | 'disks.update'
  | 'disks.delete'
  | 'disks.get'
  | 'disks.list'
  | 'disks.grantAccess'
  | 'disks.revokeAccess'
  | 'snapshots.createOrUpdate'
  | 'snapshots.update'
  | 'snapshots.delete'
  | 'snapshots.get'
  | 'snapshots.list'
  | 'snapshots.grantAccess'
  | 'snapshots.revokeAccess'
  | 'virtualMachines.createOrUpdate'
  | 'virtualMachines.delete'
  | 'virtualMachines.get'
  | 'virtualMachines.list';

export type FaultKind = 'throttle' | 'serverError' | 'lroFailed';

export interface FaultSpec {
  readonly kind: FaultKind;
  readonly method?: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE';
  readonly pathPattern?: RegExp | string;
  readonly operation?: ArmOperationKind;
  /** `initial` (default): the request that starts the operation; `poll`: its polling requests. */
  readonly phase?: 'initial' | 'poll';
  /** How many matching requests fail (default 1). */
  readonly times?: number;
  /** `throttle` only (default 1). */
  readonly retryAfterSeconds?: number;
  /** `lroFailed` / `serverError`: the ARM error code and message to report. */
  readonly code?: string;
  readonly message?: string;
}

export interface Fault {
  readonly spec: FaultSpec;
  /** Requests this fault has answered so far. */
  hits: number;
  remaining: number;
}

export interface RequestFacts {
  readonly method: string;
  readonly path: string;
  readonly operation?: ArmOperationKind;
  readonly phase: 'initial' | 'poll';
}

export class FaultInjector {
  private readonly faults: Fault[] = [];

  add(spec: FaultSpec): Fault {
    const fault: Fault = { spec, hits: 0, remaining: spec.times ?? 1 };
    this.faults.push(fault);
    return fault;
  }

  clear(): void {
    this.faults.length = 0;
  }

  /** Every fault added, with how often it fired. */
  list(): readonly Fault[] {
    return this.faults;
  }

  /** Takes the first armed fault of one of `kinds` that matches the request, if any. */
  take(request: RequestFacts, kinds: readonly FaultKind[]): Fault | undefined {
    const fault = this.faults.find((f) => f.remaining > 0 && kinds.includes(f.spec.kind) && matches(f.spec, request));
    if (!fault) return undefined;
    fault.remaining -= 1;
    fault.hits += 1;
    return fault;
  }
}

function matches(spec: FaultSpec, request: RequestFacts): boolean {
  if ((spec.phase ?? 'initial') !== request.phase) return false;
  if (spec.method && spec.method !== request.method.toUpperCase()) return false;
  if (spec.operation && spec.operation !== request.operation) return false;
  if (spec.pathPattern !== undefined) {
    const hit = typeof spec.pathPattern === 'string' ? request.path.toLowerCase().includes(spec.pathPattern.toLowerCase()) : spec.pathPattern.test(request.path);
    if (!hit) return false;
  }
  return true;
}
