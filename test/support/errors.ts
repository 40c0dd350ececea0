/** Assertions on the errors deltavault raises (src/errors.ts). */
import { DeltavaultError, type ErrorCode } from '../../src/errors';

/** Runs `fn`, expects it to throw a DeltavaultError with `code`, and returns that error. */
export function expectDeltavaultError(fn: () => unknown, code: ErrorCode): DeltavaultError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(DeltavaultError);
  const err = caught as DeltavaultError;
  expect(err.code).toBe(code);
  return err;
}
