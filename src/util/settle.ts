/**
 * Reads started together whose failures matter only if their results are used: `settle` turns
 * a promise into its outcome (so an unused failure is never an unhandled rejection), `unwrap`
 * gives the value or throws the failure.
 */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

export function settle<T>(pending: Promise<T>): Promise<Settled<T>> {
  return pending.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

export function unwrap<T>(outcome: Settled<T>): T {
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}
