/**
 * The end-to-end tests' HTTP client for a built app (appBuild.ts) running in the devhost: every
 * request carries the app's function key, a route is relative to the host or a whole URL (the
 * Durable status URLs the app answers with), and every answer comes back read, its status,
 * headers and body parsed. `expectProblem` checks an RFC 9457 problem+json answer
 * (src/http/problem.ts); `settled` polls an orchestration's status until it has ended.
 */
import type { Problem, ProblemCode } from '../../src/http/problem';
import { eventually } from './eventually';

/** An answer, read whole. */
export interface AppResponse<T = unknown> {
  readonly status: number;
  readonly headers: Headers;
  /** The body as sent. */
  readonly text: string;
  /** The body parsed as JSON; undefined when it is not JSON (an answer whose content type says JSON must parse). */
  readonly body: T;
}

/** What a status route (a Durable status URL, `GET /api/restores/{id}`) answers at least. */
export interface OrchestrationStatus {
  runtimeStatus: string;
}

export interface AppHttp {
  /** Any request, with the function key added to `init`'s headers. */
  request<T = unknown>(route: string, init?: RequestInit): Promise<AppResponse<T>>;
  /** POST with a JSON body (`application/json`); a string is sent as it is (e.g. malformed JSON). */
  post<T = unknown>(route: string, body: unknown): Promise<AppResponse<T>>;
  /** GET, then the body as JSON (throws when it is not JSON, as Response.json() does); the status is not checked. */
  getJson<T>(route: string): Promise<T>;
  /** Polls the status at `route` until the orchestration is Completed or Failed, and returns that status. */
  settled<T extends OrchestrationStatus>(route: string, timeoutInMs?: number): Promise<T>;
}

/**
 * A client of the host whose base URL `baseUrl` gives at each request (so it can be made before
 * the host starts, and follows a restarted one), sending `functionKey` (x-functions-key) every time.
 */
export function appHttp(baseUrl: () => string, functionKey: string): AppHttp {
  const request = async <T>(route: string, init: RequestInit = {}): Promise<AppResponse<T>> => {
    const res = await fetch(route.startsWith('http') ? route : `${baseUrl()}${route}`, {
      ...init,
      headers: { 'x-functions-key': functionKey, ...(init.headers ?? {}) },
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, body: parseBody(text, res.headers.get('content-type')) as T };
  };
  const post = <T>(route: string, body: unknown): Promise<AppResponse<T>> =>
    request<T>(route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const getJson = async <T>(route: string): Promise<T> => JSON.parse((await request(route)).text) as T;
  const settled = <T extends OrchestrationStatus>(route: string, timeoutInMs?: number): Promise<T> =>
    eventually(async () => {
      const status = await getJson<T>(route);
      expect(['Completed', 'Failed']).toContain(status.runtimeStatus);
      return status;
    }, timeoutInMs);
  return { request, post, getJson, settled };
}

/** A JSON answer's body, which must parse (as Response.json() would); any other body parsed when it is JSON. */
function parseBody(text: string, contentType: string | null): unknown {
  if (/[/+]json\b/.test(contentType ?? '')) return JSON.parse(text) as unknown;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Expects `res` to be an RFC 9457 problem with `status` (and `code`, when given), as deltavault
 * answers every error: `application/problem+json`; type and title naming the RFC 9110 status;
 * a detail; the invocation's `urn:uuid:` instance; `errors` only where a schema failed. Returns
 * the problem.
 */
export function expectProblem(res: AppResponse, status: number, code?: ProblemCode): Problem {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const problem = res.body as Problem;
  expect(problem).toEqual({
    type: expect.stringMatching(/^https:\/\/www\.rfc-editor\.org\/rfc\/rfc9110#section-15\./),
    title: expect.any(String),
    status,
    detail: expect.any(String),
    code: code ?? expect.any(String),
    instance: expect.stringMatching(/^urn:uuid:[0-9a-f-]{36}$/),
    ...(problem?.errors ? { errors: expect.any(Array) } : {}),
  });
  return problem;
}
