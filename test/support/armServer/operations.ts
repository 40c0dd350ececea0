/**
 * Long-running operations. An operation starts its work at once; its status endpoint (the
 * `Azure-AsyncOperation` URL) answers `InProgress` until the work has settled *and* the client
 * has polled more than `pollsBeforeDone` times, then `Succeeded` or `Failed` with an ARM error.
 * Its `Location` URL (the same path with `monitor=true`) answers 202 while it runs, then the
 * final result (200 with the body, e.g. `{ accessSAS }`) or the ARM error with its status.
 */
import { randomUUID } from 'node:crypto';
import { ArmError, toArmError } from './armErrors';
import type { ArmOperationKind } from './faults';

export type OperationStatus = 'InProgress' | 'Succeeded' | 'Failed';

export interface OperationRecord {
  readonly id: string;
  readonly kind: ArmOperationKind;
  readonly resourceId: string;
  status: OperationStatus;
  readonly startedAt: Date;
  endedAt?: Date;
  error?: { code: string; message: string };
  /** Status and Location requests the client made. */
  polls: number;
}

export class Operation {
  /** The final result's body, when the work returned one (never recorded: it may hold a SAS). */
  result: unknown;
  failure?: ArmError;
  private settled = false;

  constructor(
    readonly record: OperationRecord,
    private readonly pollsBeforeDone: number,
  ) {}

  run(work: () => Promise<unknown>, failWith?: ArmError): Promise<void> {
    const done = failWith
      ? Promise.resolve().then(() => {
          this.failure = failWith;
        })
      : work().then(
          (result) => {
            this.result = result;
          },
          (e: unknown) => {
            this.failure = toArmError(e);
          },
        );
    return done.then(() => {
      this.settled = true;
    });
  }

  /** Counts one poll and says where the operation stands, as the client may see it now. */
  poll(): OperationStatus {
    this.record.polls += 1;
    return this.view();
  }

  view(): OperationStatus {
    if (!this.settled || this.record.polls <= this.pollsBeforeDone) return 'InProgress';
    if (this.record.status === 'InProgress') {
      this.record.status = this.failure ? 'Failed' : 'Succeeded';
      this.record.endedAt = new Date();
      if (this.failure) this.record.error = { code: this.failure.code, message: this.failure.message };
    }
    return this.record.status;
  }

  /** Waits for the work (for answers given synchronously, with no polling). */
  async settle(): Promise<void> {
    while (!this.settled) await new Promise((resolve) => setImmediate(resolve));
  }
}

export class Operations {
  private readonly byId = new Map<string, Operation>();

  constructor(private readonly pollsBeforeDone: number) {}

  start(kind: ArmOperationKind, resourceId: string, work: () => Promise<unknown>, failWith?: ArmError): Operation {
    const record: OperationRecord = { id: randomUUID(), kind, resourceId, status: 'InProgress', startedAt: new Date(), polls: 0 };
    const op = new Operation(record, this.pollsBeforeDone);
    this.byId.set(record.id, op);
    void op.run(work, failWith);
    return op;
  }

  get(id: string): Operation | undefined {
    return this.byId.get(id.toLowerCase());
  }

  records(): OperationRecord[] {
    return [...this.byId.values()].map((o) => ({ ...o.record }));
  }

  /** Operations whose work has not settled yet. */
  async idle(): Promise<void> {
    await Promise.all([...this.byId.values()].map((o) => o.settle()));
  }
}
