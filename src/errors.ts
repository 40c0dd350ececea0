/**
 * Every error deltavault raises is a DeltavaultError with a stable `code` (for scripts, events
 * and problem+json answers) and a message a person can act on. Build them through `errors`,
 * the one factory, so codes and HTTP statuses stay in one place.
 */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_RANGE'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'BASE_LEASED'
  | 'CHAIN_CONFLICT'
  | 'CHAIN_BROKEN'
  | 'MANIFEST_INVALID'
  | 'INTEGRITY_FAILED'
  | 'SOURCE_CHANGED'
  | 'STORAGE_FAILED'
  | 'SETTINGS_INVALID'
  | 'CONFIG_INVALID'
  | 'NOT_SUPPORTED'
  | 'DIFF_UNAVAILABLE';

const STATUS: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  INVALID_RANGE: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  BASE_LEASED: 409,
  CHAIN_CONFLICT: 409,
  CHAIN_BROKEN: 409,
  MANIFEST_INVALID: 500,
  INTEGRITY_FAILED: 500,
  SOURCE_CHANGED: 409,
  STORAGE_FAILED: 502,
  SETTINGS_INVALID: 500,
  CONFIG_INVALID: 500,
  NOT_SUPPORTED: 501,
  DIFF_UNAVAILABLE: 409,
};

export class DeltavaultError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DeltavaultError';
    this.code = code;
    this.status = STATUS[code];
    this.details = options.details;
  }

  /** A plain object that is safe to put in events, logs and orchestration history. */
  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export function isDeltavaultError(e: unknown, code?: ErrorCode): e is DeltavaultError {
  return e instanceof DeltavaultError && (code === undefined || e.code === code);
}

/** HTTP status of a failed storage call, if it was one. */
export function storageStatus(e: unknown): number | undefined {
  const status = (e as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The storage service's error code (`x-ms-error-code`), if it was one. */
export function storageCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown; details?: { errorCode?: unknown } } | null);
  const value = code?.details?.errorCode ?? code?.code;
  return typeof value === 'string' ? value : undefined;
}

export const errors = {
  notSupported: (what: string) => new DeltavaultError('NOT_SUPPORTED', what),
  invalidArgument: (what: string, problem: string) =>
    new DeltavaultError('INVALID_ARGUMENT', `${what}: ${problem}`, { details: { what } }),
  invalidRange: (problem: string, details?: Record<string, unknown>) =>
    new DeltavaultError('INVALID_RANGE', problem, { details }),
  notFound: (kind: string, id: string) =>
    new DeltavaultError('NOT_FOUND', `${kind} '${id}' does not exist`, { details: { kind, id } }),
  alreadyExists: (kind: string, id: string) =>
    new DeltavaultError('ALREADY_EXISTS', `${kind} '${id}' already exists; deltavault never overwrites it`, {
      details: { kind, id },
    }),
  baseLeased: (diskKey: string, cause?: unknown) =>
    new DeltavaultError(
      'BASE_LEASED',
      `another job is writing the vault base blob of disk '${diskKey}' (it holds the write lease); ` +
        'wait for it to finish or for its lease to expire (60 s after it stopped)',
      { cause, details: { diskKey } },
    ),
  /** Another job planned against this disk's base after this one did: this job must not write it. */
  baseTakenOver: (diskKey: string, jobId: string, writer: string | undefined) =>
    new DeltavaultError(
      'CHAIN_CONFLICT',
      `job ${jobId} of disk '${diskKey}' no longer owns the vault base blob: ${writer ? `job ${writer}` : 'another job'} planned against it since; ` +
        'this job stops without writing, and the next backup starts from the chain as it is',
      { details: { diskKey, jobId, ...(writer ? { writer } : {}) } },
    ),
  chainConflict: (diskKey: string, cause?: unknown) =>
    new DeltavaultError(
      'CHAIN_CONFLICT',
      `the backup chain of disk '${diskKey}' was advanced by another writer while this job ran; this job's ` +
        'recovery point was not recorded as the chain head',
      { cause, details: { diskKey } },
    ),
  chainBroken: (diskKey: string, problem: string) =>
    new DeltavaultError('CHAIN_BROKEN', `backup chain of disk '${diskKey}': ${problem}`, { details: { diskKey } }),
  manifestInvalid: (where: string, problem: string) =>
    new DeltavaultError('MANIFEST_INVALID', `${where}: ${problem}`, { details: { where } }),
  integrityFailed: (what: string, badBlocks: number[]) =>
    new DeltavaultError(
      'INTEGRITY_FAILED',
      `${what}: ${badBlocks.length} block(s) do not match the manifest hashes (first: ${badBlocks.slice(0, 10).join(', ')})`,
      { details: { badBlocks: badBlocks.slice(0, 1000) } },
    ),
  sourceChanged: (what: string) => new DeltavaultError('SOURCE_CHANGED', what),
  /**
   * The source cannot report what changed between two of its snapshots (a managed disk resized
   * across the 4 TiB boundary in between): the plan falls back to a full copy.
   */
  diffUnavailable: (what: string, reason: string) =>
    new DeltavaultError('DIFF_UNAVAILABLE', `${what}: no diff exists (${reason}); the backup copies the whole allocation instead`, {
      details: { what, reason },
    }),
  /** The app's settings are wrong; every problem names its setting and none quotes a value. */
  settingsInvalid: (problems: { setting: string; problem: string }[]) =>
    new DeltavaultError(
      'SETTINGS_INVALID',
      `invalid settings (${problems.length}): ${problems.map((p) => `${p.setting}: ${p.problem}`).join('; ')}`,
      { details: { problems } },
    ),
  /**
   * The protection config is wrong: one error listing every problem, one per line, each as
   * `<where>: <JSON path>: <problem>` (`where` is the file path or blob URL it came from).
   */
  configInvalid: (where: string, problems: { path: string; problem: string }[]) =>
    new DeltavaultError(
      'CONFIG_INVALID',
      `invalid protection config (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  ${where}: ${p.path}: ${p.problem}`).join('\n'),
      { details: { where, problems } },
    ),
  /** A failed storage call; the message names the service's error code, never a URL or key. */
  storage: (operation: string, cause: unknown) =>
    new DeltavaultError(
      'STORAGE_FAILED',
      storageStatus(cause) === undefined
        ? `${operation} failed: ${cause instanceof Error ? cause.message : String(cause)}`
        : `${operation} failed: ${storageCode(cause) ?? 'error'} (HTTP ${storageStatus(cause)})`,
      { cause, details: { operation, status: storageStatus(cause), storageCode: storageCode(cause) } },
    ),
};
