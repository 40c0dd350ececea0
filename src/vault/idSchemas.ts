/** zod schemas for the vault's identifiers, one definition each, for every edge that takes them. */
import { z } from 'zod';
import { assertDiskKey, assertJobId, parseRecoveryPointId } from './vaultLayout';

/** A refinement that holds when `assert` does not throw. */
const passes = (assert: (s: string) => void) => (s: string): boolean => {
  try {
    assert(s);
    return true;
  } catch {
    return false;
  }
};

export const diskKeySchema = z.string().refine(passes(assertDiskKey), { error: 'must be a disk key: 1-63 lowercase letters, digits or inner hyphens' });
export const jobIdSchema = z.string().refine(passes(assertJobId), { error: "must be a job id: 1-128 letters, digits, '_', '.', ':' or '-'" });
export const recoveryPointIdSchema = z
  .string()
  .refine(passes((s) => parseRecoveryPointId(s)), { error: 'must be a recovery point id, <diskKey>.<yyyymmddThhmmssfffZ>' });
