/**
 * Activities whose failures are not all worth retrying. Durable Functions' JavaScript retry
 * options cannot tell a transient failure (a storage hiccup: retry) from a permanent one (the
 * recovery point is corrupt or gone: retrying only delays the answer by minutes), so an activity
 * wrapped in `outcomeOf` returns permanent failures as a value, and the orchestrator turns them
 * back into an error with `unwrap` (at once, without retries). Transient failures still throw,
 * and the activity's retry options apply to them.
 */
import { isDeltavaultError, type ErrorCode } from '../errors';

/** Codes that a retry of the same activity input cannot change. */
export const PERMANENT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'INVALID_ARGUMENT',
  'INVALID_RANGE',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'MANIFEST_INVALID',
  'INTEGRITY_FAILED',
  'NOT_SUPPORTED',
]);

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: { code: ErrorCode; message: string } };

/** Runs `work`; a DeltavaultError with a permanent code becomes `{ ok: false, error }`, anything else is thrown. */
export async function outcomeOf<T>(work: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (e) {
    if (isDeltavaultError(e) && PERMANENT_CODES.has(e.code)) {
      const prefix = `${e.code}: `;
      return { ok: false, error: { code: e.code, message: e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message } };
    }
    throw e;
  }
}

/** The value of an outcome, or an Error whose message is `CODE: message` (what errorOf reads). Orchestrator-safe. */
export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new Error(`${outcome.error.code}: ${outcome.error.message}`);
}
