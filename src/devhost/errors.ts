/**
 * Every failure the devhost reports is a DevhostError with a stable `code` and, for start-up
 * failures, the file and field that caused it, so a person can go straight to the line to fix.
 * Kept apart from src/errors.ts: the devhost imports nothing from the rest of src/.
 */
export type DevhostErrorCode =
  | 'DEVHOST_INVALID_ARGUMENT'
  | 'DEVHOST_INVALID_PACKAGE_JSON'
  | 'DEVHOST_INVALID_HOST_JSON'
  | 'DEVHOST_INVALID_LOCAL_SETTINGS'
  | 'DEVHOST_MISSING_SETTING'
  | 'DEVHOST_APP_LOAD_FAILED'
  | 'DEVHOST_INVALID_BINDING'
  | 'DEVHOST_DUPLICATE_FUNCTION'
  | 'DEVHOST_UNSUPPORTED'
  | 'DEVHOST_ALREADY_RUNNING'
  | 'DEVHOST_LISTEN_FAILED'
  | 'DEVHOST_FUNCTION_NOT_FOUND'
  | 'DEVHOST_FUNCTION_TIMEOUT'
  | 'DEVHOST_OUTPUT_BINDING_FAILED';

export interface DevhostErrorDetails {
  /** The file at fault (absolute path) for configuration and app errors. */
  file?: string;
  /** The field inside `file`, dotted (e.g. `extensions.queues.batchSize`, `Values.AzureWebJobsStorage`). */
  field?: string;
  functionName?: string;
  [key: string]: unknown;
}

export class DevhostError extends Error {
  readonly code: DevhostErrorCode;
  readonly details: DevhostErrorDetails;

  constructor(code: DevhostErrorCode, message: string, details: DevhostErrorDetails = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'DevhostError';
    this.code = code;
    this.details = details;
  }
}

export function isDevhostError(e: unknown, code?: DevhostErrorCode): e is DevhostError {
  return e instanceof DevhostError && (code === undefined || e.code === code);
}

/** `<file>: <field>: <problem>`, leaving out what is not known. */
function located(file: string | undefined, field: string | undefined, problem: string): string {
  return [file, field, problem].filter((part) => part !== undefined && part !== '').join(': ');
}

export function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e);
  } catch {
    return String(e);
  }
}

/** The one factory: codes and message shapes stay in one place. */
export const devhostErrors = {
  invalidArgument: (what: string, problem: string) =>
    new DevhostError('DEVHOST_INVALID_ARGUMENT', `${what}: ${problem}`, { field: what }),
  invalidPackageJson: (file: string, field: string | undefined, problem: string, cause?: unknown) =>
    new DevhostError('DEVHOST_INVALID_PACKAGE_JSON', located(file, field, problem), { file, field }, cause),
  invalidHostJson: (file: string, field: string | undefined, problem: string, cause?: unknown) =>
    new DevhostError('DEVHOST_INVALID_HOST_JSON', located(file, field, problem), { file, field }, cause),
  invalidLocalSettings: (file: string, field: string | undefined, problem: string, cause?: unknown) =>
    new DevhostError('DEVHOST_INVALID_LOCAL_SETTINGS', located(file, field, problem), { file, field }, cause),
  /** A setting a binding names (its `connection`, or a `%name%` expression) is not defined anywhere. */
  missingSetting: (file: string, setting: string, functionName: string, bindingField: string) =>
    new DevhostError(
      'DEVHOST_MISSING_SETTING',
      located(
        file,
        `Values.${setting}`,
        `the setting '${setting}' is not defined (function '${functionName}' names it in ${bindingField}); ` +
          'add it to local.settings.json Values or to the environment',
      ),
      { file, field: `Values.${setting}`, functionName, setting, bindingField },
    ),
  /** A connection an extension asked for by name (FunctionHost.connectionString) is not configured. */
  missingConnection: (file: string, setting: string, problem = 'is not defined; add a connection string to local.settings.json Values or the environment') =>
    new DevhostError('DEVHOST_MISSING_SETTING', located(file, `Values.${setting}`, `the connection setting '${setting}' ${problem}`), {
      file,
      field: `Values.${setting}`,
      setting,
    }),
  appLoadFailed: (file: string, problem: string, cause?: unknown) =>
    new DevhostError('DEVHOST_APP_LOAD_FAILED', located(file, undefined, problem), { file }, cause),
  invalidBinding: (functionName: string, field: string, problem: string, file?: string) =>
    new DevhostError(
      'DEVHOST_INVALID_BINDING',
      located(file, undefined, `function '${functionName}': ${field}: ${problem}`),
      { file, field, functionName },
    ),
  duplicateFunction: (functionName: string, file?: string) =>
    new DevhostError(
      'DEVHOST_DUPLICATE_FUNCTION',
      located(file, undefined, `a function named '${functionName}' is already registered`),
      { file, functionName },
    ),
  unsupported: (what: string, file?: string, field?: string) =>
    new DevhostError('DEVHOST_UNSUPPORTED', located(file, field, `${what} is not supported by the devhost`), { file, field }),
  alreadyRunning: () =>
    new DevhostError(
      'DEVHOST_ALREADY_RUNNING',
      'a devhost is already running in this process; stop it first (an app registers through one @azure/functions-core per process)',
    ),
  listenFailed: (address: string, cause: unknown) =>
    new DevhostError('DEVHOST_LISTEN_FAILED', `cannot listen on ${address}: ${errorMessage(cause)}`, { address }, cause),
  functionNotFound: (functionName: string) =>
    new DevhostError('DEVHOST_FUNCTION_NOT_FOUND', `no function named '${functionName}' is registered`, { functionName }),
  functionTimeout: (functionName: string, invocationId: string, timeout: string) =>
    new DevhostError(
      'DEVHOST_FUNCTION_TIMEOUT',
      `Timeout value of ${timeout} exceeded by function '${functionName}' (Id: '${invocationId}'); the invocation is abandoned`,
      { functionName, invocationId, timeout },
    ),
  outputBindingFailed: (functionName: string, binding: string, cause: unknown) =>
    new DevhostError(
      'DEVHOST_OUTPUT_BINDING_FAILED',
      `function '${functionName}': output binding '${binding}' could not be written: ${errorMessage(cause)}`,
      { functionName, binding },
      cause,
    ),
};
