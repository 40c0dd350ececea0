/**
 * Every HTTP error deltavault answers is an RFC 9457 problem (`application/problem+json`):
 *
 *   { "type": "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.5", "title": "Not Found",
 *     "status": 404, "detail": "recovery point 'vm1.20240305T070809010Z' does not exist",
 *     "code": "NOT_FOUND", "instance": "urn:uuid:<invocation id>" }
 *
 * `type` and `title` name the HTTP status (where RFC 9110 defines it); `code` is deltavault's
 * stable error code (src/errors.ts), the member scripts should switch on; `detail` says what to
 * do; `instance` is the function invocation id, the key to the service's log. Schema failures
 * (zod) add `errors`, one `{ detail, pointer | parameter }` per problem. Any other error is a 500
 * whose detail names nothing but the invocation id: the error itself goes to the log, scrubbed
 * of secrets.
 */
import type { HttpResponseInit } from '@azure/functions';
import { z } from 'zod';
import { DeltavaultError, type ErrorCode } from '../errors';
import { redactSecrets } from '../config/secrets';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** deltavault's codes, plus the one for errors it did not foresee. */
export type ProblemCode = ErrorCode | 'INTERNAL_ERROR';

export interface ProblemFieldError {
  detail: string;
  /** JSON Pointer (RFC 6901) into the request body, as a URI fragment: `#/target/kind`. */
  pointer?: string;
  /** A query or route parameter. */
  parameter?: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ProblemCode;
  instance?: string;
  errors?: ProblemFieldError[];
}

/** Where a request's failing input was: its body (pointer) or its query/route (parameter). */
export type InputPart = 'body' | 'query' | 'route';

/** What the problem helpers need from an invocation: its id and an error log (an InvocationContext will do). */
export interface ProblemContext {
  readonly invocationId?: string;
  error(...args: unknown[]): void;
}

const STATUS: Record<number, { title: string; section: string }> = {
  400: { title: 'Bad Request', section: '15.5.1' },
  401: { title: 'Unauthorized', section: '15.5.2' },
  403: { title: 'Forbidden', section: '15.5.4' },
  404: { title: 'Not Found', section: '15.5.5' },
  405: { title: 'Method Not Allowed', section: '15.5.6' },
  409: { title: 'Conflict', section: '15.5.10' },
  413: { title: 'Content Too Large', section: '15.5.14' },
  415: { title: 'Unsupported Media Type', section: '15.5.16' },
  422: { title: 'Unprocessable Content', section: '15.5.21' },
  500: { title: 'Internal Server Error', section: '15.6.1' },
  501: { title: 'Not Implemented', section: '15.6.2' },
  502: { title: 'Bad Gateway', section: '15.6.3' },
  503: { title: 'Service Unavailable', section: '15.6.4' },
};

/** A problem for `status` (type and title from RFC 9110). */
export function problem(status: number, code: ProblemCode, detail: string, extra: Partial<Pick<Problem, 'instance' | 'errors'>> = {}): Problem {
  const known = STATUS[status];
  return {
    type: known ? `https://www.rfc-editor.org/rfc/rfc9110#section-${known.section}` : 'about:blank',
    title: known?.title ?? `HTTP ${status}`,
    status,
    detail,
    code,
    ...extra,
  };
}

function instanceOf(context: ProblemContext | undefined): { instance?: string } {
  const id = context?.invocationId;
  return id && /^[0-9a-f-]{36}$/i.test(id) ? { instance: `urn:uuid:${id.toLowerCase()}` } : {};
}

/** A JSON Pointer as a URI fragment (`#/a/0/b`), escaping `~` and `/` (RFC 6901) and percent-encoding the rest. */
export function jsonPointer(path: readonly PropertyKey[]): string {
  return `#${path.map((p) => `/${encodeURIComponent(String(p).replace(/~/g, '~0').replace(/\//g, '~1'))}`).join('')}`;
}

/** 400 for input that failed its schema: every issue, where it is and what is wrong. */
export function problemFromZod(error: z.ZodError, part: InputPart, context?: ProblemContext): Problem {
  const fieldErrors: ProblemFieldError[] = error.issues.map((issue) =>
    part === 'body'
      ? { detail: issue.message, pointer: jsonPointer(issue.path) }
      : { detail: issue.message, parameter: issue.path.map(String).join('.') },
  );
  const where = (e: ProblemFieldError): string => (e.pointer !== undefined ? (e.pointer === '#' ? 'the body' : e.pointer.slice(1)) : e.parameter ?? '');
  const detail = `the request's ${part === 'route' ? 'path' : part} is invalid: ${fieldErrors.map((e) => `${where(e)}: ${e.detail}`).join('; ')}`;
  return problem(400, 'INVALID_ARGUMENT', detail, { ...instanceOf(context), errors: fieldErrors });
}

/**
 * The problem for any error a handler threw. DeltavaultErrors keep their status, code and
 * message (written to be shown); a 5xx one is also logged. Anything else is logged (scrubbed
 * of secrets) and answered with a generic 500.
 */
export function problemFromError(e: unknown, context?: ProblemContext): Problem {
  if (e instanceof DeltavaultError) {
    if (e.status >= 500) context?.error(redactSecrets(`${e.code}: ${e.message}${describeCause(e.cause)}`));
    return problem(e.status, e.code, e.message, instanceOf(context));
  }
  if (e instanceof z.ZodError) return problemFromZod(e, 'body', context);
  const instance = instanceOf(context);
  context?.error(redactSecrets(`Unexpected error: ${describeUnknown(e)}`));
  return problem(
    500,
    'INTERNAL_ERROR',
    instance.instance
      ? `an unexpected error occurred; the service log describes it under invocation id ${instance.instance.slice('urn:uuid:'.length)}`
      : 'an unexpected error occurred; the service log describes it',
    instance,
  );
}

function describeUnknown(e: unknown): string {
  if (e instanceof Error) return e.stack ?? `${e.name}: ${e.message}`;
  try {
    return JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}

function describeCause(cause: unknown): string {
  if (cause === undefined) return '';
  if (cause instanceof Error) return ` (cause: ${cause.name}: ${cause.message})`;
  return '';
}

/** The HTTP response for a problem: its status, `application/problem+json`, the JSON body. */
export function problemResponse(p: Problem): HttpResponseInit {
  return {
    status: p.status,
    headers: { 'content-type': PROBLEM_CONTENT_TYPE },
    body: JSON.stringify(p),
  };
}

/** Runs a handler's work; whatever it throws becomes the problem response. */
export async function answerWithProblems(context: ProblemContext, work: () => Promise<HttpResponseInit>): Promise<HttpResponseInit> {
  try {
    return await work();
  } catch (e) {
    return problemResponse(problemFromError(e, context));
  }
}
