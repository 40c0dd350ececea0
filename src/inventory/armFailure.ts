/** A failed ARM call as a DeltavaultError: NOT_FOUND for a missing resource, STORAGE_FAILED (with the ARM code) otherwise. */
import { errors, type DeltavaultError } from '../errors';

export function armFailure(e: unknown, operation: string, what: string, id: string): DeltavaultError {
  const status = (e as { statusCode?: number }).statusCode;
  const code = (e as { code?: string }).code;
  if (status === 404 || code === 'ResourceNotFound' || code === 'NotFound') return errors.notFound(what, id);
  if (status === 403 || code === 'AuthorizationFailed') {
    return errors.storage(`${operation}: the app's identity may not (${code ?? 'HTTP 403'}); give it the role infra/ describes on this resource group`, e);
  }
  return errors.storage(operation, e);
}
