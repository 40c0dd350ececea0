/**
 * Failures of Azure Resource Manager calls (and of storage calls made through an access URL),
 * turned into DeltavaultErrors that name the operation and the resource and never carry a SAS:
 * the message is scrubbed, and the raw error is not attached as `cause` (a RestError keeps its
 * request, whose URL may be an access URL with its signature).
 *
 * How the client reports a failure:
 * - an initial request or poll answered 4xx/5xx (after the client's own retries: 429 and 503
 *   with Retry-After, 5xx and network errors a few times): a RestError with `statusCode` and the
 *   ARM `code`;
 * - a long-running operation that ended `Failed`, followed through `Azure-AsyncOperation` (PUT):
 *   a plain Error from core-lro, "The long-running operation has failed. <code>. <message>";
 *   followed through `Location` (POST, DELETE): a RestError with the ARM code.
 */
import { redactSecrets } from '../config/secrets';
import { DeltavaultError, errors, isDeltavaultError } from '../errors';

export interface ArmFailureFacts {
  readonly status?: number;
  readonly code?: string;
  /** The long-running operation itself ended `Failed` (as opposed to a request failing). */
  readonly operationFailed: boolean;
  readonly message: string;
}

const LRO_FAILED = /^The long-running operation has failed(?:\. ([A-Za-z0-9_.-]+)\.)?/;

/** Codes of an operation that ended Failed because of the request or the resource: doing it again changes nothing. */
const PERMANENT_OPERATION_CODES: ReadonlySet<string> = new Set([
  'InvalidParameter',
  'BadRequest',
  'OperationNotAllowed',
  'QuotaExceeded',
  'PropertyChangeNotAllowed',
  'AuthorizationFailed',
  'LinkedAuthorizationFailed',
  'InvalidResourceName',
  'ResourceNotFound',
  'NotFound',
]);

export function armFailureFacts(e: unknown): ArmFailureFacts {
  const status = (e as { statusCode?: unknown } | null)?.statusCode;
  const rawCode = (e as { code?: unknown; details?: { errorCode?: unknown } } | null);
  const code = rawCode?.details?.errorCode ?? rawCode?.code;
  const message = redactSecrets(e instanceof Error ? e.message : String(e));
  const lro = e instanceof Error && typeof status !== 'number' ? LRO_FAILED.exec(e.message) : null;
  return {
    status: typeof status === 'number' ? status : undefined,
    code: typeof code === 'string' ? code : lro?.[1],
    operationFailed: lro !== null,
    message,
  };
}

/**
 * Whether doing the same thing again may succeed: a server-side failure (5xx, an LRO that ended
 * Failed with a server-side code, a timeout), throttling the client gave up on, or a network
 * error. A 4xx other than 408/429, or an operation that ended Failed with a code about the request
 * or the resource (PERMANENT_OPERATION_CODES), is an answer, and retrying it changes nothing.
 */
export function isTransientArmFailure(e: unknown): boolean {
  if (isDeltavaultError(e)) return false;
  const facts = armFailureFacts(e);
  if (facts.operationFailed) return !(facts.code !== undefined && PERMANENT_OPERATION_CODES.has(facts.code));
  if (facts.status === undefined) return e instanceof Error && /ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|socket hang up|network/i.test(e.message);
  return facts.status >= 500 || facts.status === 408 || facts.status === 429;
}

/**
 * A DeltavaultError for a failed call: `STORAGE_FAILED` (502) naming the operation and the
 * resource, with the ARM (or storage) error code and HTTP status in the message and details.
 */
export function armFailure(operation: string, resource: string, e: unknown): DeltavaultError {
  if (isDeltavaultError(e)) return e;
  const facts = armFailureFacts(e);
  const what = facts.status !== undefined || facts.code ? `${facts.code ?? 'error'}${facts.status !== undefined ? ` (HTTP ${facts.status})` : ''}` : '';
  // The ARM message explains limits and states ("at most 5 snapshots … can have access"); keep
  // its first line, scrubbed.
  const firstLine = facts.message.split('\n')[0] ?? '';
  const detail = (facts.operationFailed ? `the operation ended Failed: ${firstLine.replace(LRO_FAILED, '').replace(/^\s*/, '')}` : firstLine).slice(0, 400);
  return new DeltavaultError('STORAGE_FAILED', redactSecrets(`${operation} of '${resource}' failed: ${what}${what && detail ? ': ' : ''}${detail}`), {
    details: { operation, resource, status: facts.status, armCode: facts.code },
  });
}

/**
 * A failed read of a resource that may not exist: NOT_FOUND (`what`, `resource`) when ARM says
 * so, else armFailure; a 403 also says which role the app's identity lacks.
 */
export function armLookupFailure(operation: string, what: string, resource: string, e: unknown): DeltavaultError {
  if (isDeltavaultError(e)) return e;
  const facts = armFailureFacts(e);
  if (facts.status === 404 || facts.code === 'ResourceNotFound' || facts.code === 'NotFound') return errors.notFound(what, resource);
  if (facts.status === 403 || facts.code === 'AuthorizationFailed') {
    return armFailure(`${operation} (the app's identity may not: give it the role infra/ describes on that resource group)`, resource, e);
  }
  return armFailure(operation, resource, e);
}
