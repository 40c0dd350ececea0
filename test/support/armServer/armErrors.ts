/**
 * ARM error answers, built in one place: every error the test server sends is an ArmError with
 * an HTTP status and a stable ARM `code`, serialized as `{ error: { code, message } }` (the
 * CloudError shape of the Compute OpenAPI spec). Codes are the ones Azure Resource Manager and
 * the Compute resource provider use for the same situation.
 */
export interface ArmErrorBody {
  error: { code: string; message: string; target?: string };
}

export class ArmError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    readonly target?: string,
  ) {
    super(message);
    this.name = 'ArmError';
  }

  body(): ArmErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.target ? { target: this.target } : {}) } };
  }
}

export const armErrors = {
  resourceNotFound: (type: string, resourceGroup: string, name: string): ArmError =>
    new ArmError(404, 'ResourceNotFound', `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found.`),
  subscriptionNotFound: (subscriptionId: string): ArmError =>
    new ArmError(404, 'SubscriptionNotFound', `The subscription '${subscriptionId}' could not be found.`),
  operationNotFound: (operationId: string): ArmError =>
    new ArmError(404, 'NotFound', `The operation '${operationId}' was not found.`),
  invalidResourceType: (path: string): ArmError =>
    new ArmError(404, 'InvalidResourceType', `The resource type of '${path}' could not be found in the namespace 'Microsoft.Compute'.`),
  methodNotAllowed: (method: string, path: string): ArmError =>
    new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}' on '${path}'.`),
  missingApiVersion: (): ArmError =>
    new ArmError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests."),
  unsupportedApiVersion: (apiVersion: string, type: string, supported: readonly string[]): ArmError =>
    new ArmError(
      400,
      'NoRegisteredProviderFound',
      `No registered resource provider found for API version '${apiVersion}' and type '${type}'. The supported api-versions are '${supported.join(', ')}'.`,
    ),
  authenticationFailed: (): ArmError =>
    new ArmError(401, 'AuthenticationFailed', 'Authentication failed. The Authorization header is missing or does not carry the expected bearer token.'),
  invalidRequestContent: (message: string): ArmError => new ArmError(400, 'InvalidRequestContent', message),
  invalidParameter: (message: string, target?: string): ArmError => new ArmError(400, 'InvalidParameter', message, {}, target),
  badRequest: (message: string): ArmError => new ArmError(400, 'BadRequest', message),
  operationNotAllowed: (message: string): ArmError => new ArmError(409, 'OperationNotAllowed', message),
  conflict: (message: string): ArmError => new ArmError(409, 'Conflict', message),
  tooManyRequests: (retryAfterSeconds: number): ArmError =>
    new ArmError(
      429,
      'TooManyRequests',
      `The request is being throttled. Retry after ${retryAfterSeconds} seconds.`,
      { 'retry-after': String(retryAfterSeconds) },
    ),
  internalServerError: (message = 'The server encountered an internal error. Please retry the request.'): ArmError =>
    new ArmError(500, 'InternalServerError', message),
  /** The error a failed long-running operation reports (in its status body or Location answer). */
  operationFailed: (code = 'InternalExecutionError', message = 'An internal execution error occurred. Please retry later.'): ArmError =>
    new ArmError(500, code, message),
};

/** Turns anything thrown inside a handler into an ArmError (unexpected errors become a 500). */
export function toArmError(e: unknown): ArmError {
  if (e instanceof ArmError) return e;
  return armErrors.internalServerError(`The test server failed: ${e instanceof Error ? e.message : String(e)}`);
}
