/**
 * HTTP requests and responses to and from the worker's RpcHttpData, shaped the way the Functions
 * host sends them, so `@azure/functions`' HttpRequest and HttpResponse see what they see in
 * Azure: the full URL, headers (also as nullableHeaders), query and route params (also nullable),
 * the body as bytes; back: status, headers, cookies (as Set-Cookie), body.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { RpcHttpData, RpcTypedData } from './hostTypes';

export function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(name === 'cookie' ? '; ' : ', ') : value;
  }
  return out;
}

const nullable = (record: Record<string, string>): Record<string, { value: string }> =>
  Object.fromEntries(Object.entries(record).map(([k, v]) => [k, { value: v }]));

/** Multi-valued query parameters are joined with ',' (as ASP.NET Core's query collection does). */
export function queryRecord(query: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of new Set(query.keys())) out[key] = query.getAll(key).join(',');
  return out;
}

export interface IncomingHttp {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: Buffer;
  params: Record<string, string>;
}

export function toRpcHttpRequest(req: IncomingHttp): RpcHttpData {
  const query = queryRecord(req.url.searchParams);
  const body: RpcTypedData | undefined = req.body.length > 0 ? { bytes: req.body } : undefined;
  return {
    method: req.method.toUpperCase(),
    url: req.url.href,
    headers: req.headers,
    nullableHeaders: nullable(req.headers),
    query,
    nullableQuery: nullable(query),
    params: req.params,
    nullableParams: nullable(req.params),
    body: body ?? null,
    rawBody: body ?? null,
    identities: [],
  };
}

/** The trigger metadata the host sends along with an HTTP trigger (the library reads it only when streaming). */
export function httpTriggerMetadata(rpc: RpcHttpData): Record<string, RpcTypedData> {
  const meta: Record<string, RpcTypedData> = {
    Headers: { json: JSON.stringify(rpc.headers ?? {}) },
    Query: { json: JSON.stringify(rpc.query ?? {}) },
  };
  for (const [k, v] of Object.entries(rpc.params ?? {})) meta[k] = { string: v };
  return meta;
}

export function typedDataToBuffer(data: RpcTypedData | null | undefined): Buffer {
  if (!data) return Buffer.alloc(0);
  if (data.bytes) return Buffer.from(data.bytes);
  if (typeof data.string === 'string') return Buffer.from(data.string, 'utf8');
  if (typeof data.json === 'string') return Buffer.from(data.json, 'utf8');
  if (typeof data.int === 'number') return Buffer.from(String(data.int));
  if (typeof data.double === 'number') return Buffer.from(String(data.double));
  return Buffer.alloc(0);
}

interface RpcCookie {
  name?: string | null;
  value?: string | null;
  domain?: { value?: string | null } | null;
  path?: { value?: string | null } | null;
  expires?: { value?: { seconds?: number | null } | null } | null;
  secure?: { value?: boolean | null } | null;
  httpOnly?: { value?: boolean | null } | null;
  sameSite?: string | null;
  maxAge?: { value?: number | null } | null;
}

export function setCookieHeader(cookie: RpcCookie): string {
  const parts = [`${cookie.name ?? ''}=${cookie.value ?? ''}`];
  if (cookie.domain?.value) parts.push(`Domain=${cookie.domain.value}`);
  if (cookie.path?.value) parts.push(`Path=${cookie.path.value}`);
  const seconds = cookie.expires?.value?.seconds;
  if (typeof seconds === 'number') parts.push(`Expires=${new Date(seconds * 1000).toUTCString()}`);
  if (typeof cookie.maxAge?.value === 'number') parts.push(`Max-Age=${Math.trunc(cookie.maxAge.value)}`);
  if (cookie.secure?.value) parts.push('Secure');
  if (cookie.httpOnly?.value) parts.push('HttpOnly');
  const sameSite = { lax: 'Lax', strict: 'Strict', explicitnone: 'None' }[String(cookie.sameSite ?? '').toLowerCase()];
  if (sameSite) parts.push(`SameSite=${sameSite}`);
  return parts.join('; ');
}

/** Sends the function's HTTP response; no response at all is a 204, as in Azure. */
export function writeRpcHttpResponse(res: ServerResponse, data: RpcTypedData | null | undefined, method: string): void {
  const http = data?.http;
  if (!http) {
    // A function may also return a plain value through an http output binding's typed data.
    if (data && !http && (data.string !== undefined || data.json !== undefined || data.bytes !== undefined)) {
      const body = typedDataToBuffer(data);
      res.writeHead(200, { 'content-length': body.length });
      res.end(method === 'HEAD' ? undefined : body);
      return;
    }
    res.writeHead(204);
    res.end();
    return;
  }
  const status = Number.parseInt(http.statusCode ?? '', 10);
  const body = typedDataToBuffer(http.body);
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(http.headers ?? {})) headers[name.toLowerCase()] = value;
  const cookies = ((http.cookies ?? []) as RpcCookie[]).map(setCookieHeader);
  if (cookies.length > 0) {
    const existing = headers['set-cookie'];
    headers['set-cookie'] = [...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]), ...cookies];
  }
  delete headers['transfer-encoding'];
  const code = Number.isInteger(status) && status >= 100 && status <= 599 ? status : 200;
  const noBody = code === 204 || code === 304 || method === 'HEAD';
  if (!noBody) headers['content-length'] = String(body.length);
  res.writeHead(code, headers);
  res.end(noBody ? undefined : body);
}
