/**
 * The HTTP listener (node:http on 127.0.0.1, port 7071 by default): extension routes first (e.g.
 * the Durable management API), then the admin invoke endpoint (`POST /admin/functions/{name}`,
 * as Core Tools serves it), then the app's HTTP triggers: `<routePrefix>/<route>` (the route
 * defaults to the function name), methods, `authLevel` with keys (see httpKeys.ts), and the
 * request/response conversion of httpConvert.ts. Requests wait until the host is started.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { devhostErrors, errorMessage } from './errors';
import type { IndexedFunction } from './functionIndex';
import type { ExtensionRoute, HostLogger, InvocationRequest, InvocationResult } from './hostTypes';
import { flattenHeaders, httpTriggerMetadata, toRpcHttpRequest, writeRpcHttpResponse } from './httpConvert';
import { authorize, parseAuthLevel, presentedKey, type AuthLevel, type HttpKeys } from './httpKeys';
import { compareRoutePrecedence, matchRoute, parseRouteTemplate, RouteTemplateError, type RouteTemplate } from './routeTemplate';

export const DEFAULT_HTTP_PORT = 7071;
export const DEFAULT_HTTP_HOST = '127.0.0.1';
/** The Functions host's default request body limit. */
export const MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024;

export interface HttpFunctionRoute {
  fn: IndexedFunction;
  route: RouteTemplate;
  /** Upper-case; undefined: every method. */
  methods?: ReadonlySet<string>;
  authLevel: AuthLevel;
  /** The http output binding's name (`$return` usually). */
  outputBinding?: string;
}

/** The routes of the app's HTTP triggers, most specific first; invalid ones fail the start. */
export function buildHttpRoutes(functions: readonly IndexedFunction[], routePrefix: string): HttpFunctionRoute[] {
  const routes: HttpFunctionRoute[] = [];
  for (const fn of functions) {
    if (fn.kind !== 'http') continue;
    const trigger = fn.trigger;
    const file = fn.registration.entryPoint;
    const routeText = typeof trigger.route === 'string' && trigger.route.trim() !== '' ? trigger.route : fn.name;
    let route: RouteTemplate;
    try {
      route = parseRouteTemplate([routePrefix, routeText.replace(/^\/+/, '')].filter((s) => s !== '').join('/'));
    } catch (e) {
      if (e instanceof RouteTemplateError) throw devhostErrors.invalidBinding(fn.name, `bindings.${fn.triggerName}.route`, e.message, file);
      throw e;
    }
    let methods: Set<string> | undefined;
    if (trigger.methods !== undefined && trigger.methods !== null) {
      if (!Array.isArray(trigger.methods) || trigger.methods.some((m) => typeof m !== 'string')) {
        throw devhostErrors.invalidBinding(fn.name, `bindings.${fn.triggerName}.methods`, 'expected an array of HTTP method names', file);
      }
      methods = trigger.methods.length > 0 ? new Set((trigger.methods as string[]).map((m) => m.toUpperCase())) : undefined;
    }
    const authLevel = parseAuthLevel(trigger.authLevel);
    if (!authLevel) {
      throw devhostErrors.invalidBinding(fn.name, `bindings.${fn.triggerName}.authLevel`, `expected anonymous, function or admin, got ${JSON.stringify(trigger.authLevel)}`, file);
    }
    const outputBinding = Object.entries(fn.bindings).find(([, b]) => b.direction === 'out' && String(b.type).toLowerCase() === 'http')?.[0];
    routes.push({ fn, route, methods, authLevel, outputBinding });
  }
  return routes.sort((a, b) => compareRoutePrecedence(a.route, b.route));
}

interface CompiledExtensionRoute {
  method: string;
  route: RouteTemplate;
  handle: ExtensionRoute['handle'];
}

export interface HttpServerOptions {
  host: string;
  port: number;
  routes: readonly HttpFunctionRoute[];
  extensionRoutes: readonly ExtensionRoute[];
  keys: HttpKeys;
  logger: HostLogger;
  invoke(functionName: string, request: InvocationRequest): Promise<InvocationResult>;
  /** Runs a non-HTTP function once with `input` (POST /admin/functions/{name}); false when it cannot. */
  adminInvoke(fn: IndexedFunction, input: string | undefined): Promise<boolean>;
  functions: readonly IndexedFunction[];
}

export interface RunningHttpServer {
  baseUrl: string;
  port: number;
  /** Lets requests through (they wait until then). */
  open(): void;
  /** Refuses new requests (503) and connections while the ones in progress finish. */
  stopAccepting(): void;
  /** Closes every connection and the listener. */
  close(): Promise<void>;
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BODY_BYTES) {
        reject(new BodyTooLarge());
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendPlain(res: ServerResponse, status: number, text = ''): void {
  const body = Buffer.from(text, 'utf8');
  res.writeHead(status, text ? { 'content-type': 'text/plain; charset=utf-8', 'content-length': body.length } : { 'content-length': 0 });
  res.end(body);
}

function sendExtensionResult(res: ServerResponse, result: Awaited<ReturnType<ExtensionRoute['handle']>>): void {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(result.headers ?? {})) headers[k.toLowerCase()] = v;
  let body: Buffer;
  if (result.body === undefined || result.body === null) body = Buffer.alloc(0);
  else if (Buffer.isBuffer(result.body) || result.body instanceof Uint8Array) body = Buffer.from(result.body);
  else if (typeof result.body === 'string') body = Buffer.from(result.body, 'utf8');
  else {
    body = Buffer.from(JSON.stringify(result.body), 'utf8');
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  const noBody = result.status === 204 || result.status === 304;
  if (!noBody) headers['content-length'] = String(body.length);
  res.writeHead(result.status, headers);
  res.end(noBody ? undefined : body);
}

export async function startHttpServer(options: HttpServerOptions): Promise<RunningHttpServer> {
  const { logger } = options;
  let open!: () => void;
  const ready = new Promise<void>((resolve) => (open = resolve));
  const extensionRoutes: CompiledExtensionRoute[] = options.extensionRoutes
    .map((r) => ({ method: r.method.toUpperCase(), route: parseRouteTemplate(r.path), handle: r.handle.bind(r) }))
    .sort((a, b) => compareRoutePrecedence(a.route, b.route));
  const adminRoute = parseRouteTemplate('admin/functions/{name}');
  const byName = new Map(options.functions.map((f) => [f.name.toLowerCase(), f]));

  let accepting = true;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await ready;
    if (!accepting) {
      res.setHeader('connection', 'close');
      return sendPlain(res, 503, 'The host is stopping.');
    }
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', `http://${req.headers.host ?? `${options.host}:${options.port}`}`);
    const pathname = url.pathname;

    for (const r of extensionRoutes) {
      if (r.method !== method) continue;
      const params = matchRoute(r.route, pathname);
      if (!params) continue;
      const body = await readBody(req);
      sendExtensionResult(res, await r.handle({ params, query: url.searchParams, headers: flattenHeaders(req.headers), body }));
      return;
    }

    const adminParams = matchRoute(adminRoute, pathname);
    if (adminParams && method === 'POST') {
      const fn = byName.get((adminParams.name ?? '').toLowerCase());
      if (!authorize(options.keys, 'admin', fn?.name ?? '', presentedKey(url.searchParams, req.headers))) return sendPlain(res, 401);
      if (!fn) return sendPlain(res, 404);
      const raw = (await readBody(req)).toString('utf8');
      let input: string | undefined;
      try {
        const parsed = raw.trim() === '' ? {} : (JSON.parse(raw) as { input?: unknown });
        input = parsed.input === undefined || parsed.input === null ? undefined : typeof parsed.input === 'string' ? parsed.input : JSON.stringify(parsed.input);
      } catch {
        return sendPlain(res, 400, 'expected a JSON body {"input": "..."}');
      }
      const accepted = await options.adminInvoke(fn, input);
      return sendPlain(res, accepted ? 202 : 400, accepted ? '' : `function '${fn.name}' cannot be invoked through the admin API`);
    }

    let pathMatched = false;
    for (const r of options.routes) {
      const params = matchRoute(r.route, pathname);
      if (!params) continue;
      pathMatched = true;
      if (r.methods && !r.methods.has(method)) continue;
      if (!authorize(options.keys, r.authLevel, r.fn.name, presentedKey(url.searchParams, req.headers))) return sendPlain(res, 401);
      const body = await readBody(req);
      const rpc = toRpcHttpRequest({ method, url, headers: flattenHeaders(req.headers), body, params });
      const result = await options.invoke(r.fn.name, {
        inputData: [{ name: r.fn.triggerName, data: { http: rpc } }],
        triggerMetadata: httpTriggerMetadata(rpc),
      });
      if (result.error) return sendPlain(res, 500);
      const output =
        r.outputBinding === undefined
          ? undefined
          : r.outputBinding === '$return'
            ? result.returnValue
            : result.outputData.find((o) => o.name === r.outputBinding)?.data;
      writeRpcHttpResponse(res, output, method);
      return;
    }
    if (!pathMatched && pathname === '/' && (method === 'GET' || method === 'HEAD')) {
      return sendPlain(res, 200, method === 'HEAD' ? '' : 'Your Functions app is up and running (deltavault devhost).\n');
    }
    sendPlain(res, 404);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (e instanceof BodyTooLarge) {
        if (!res.headersSent) sendPlain(res, 413);
        return;
      }
      logger.log('error', `HTTP ${req.method ?? ''} ${(req.url ?? '').split('?')[0]} failed: ${errorMessage(e)}`);
      if (!res.headersSent) sendPlain(res, 500);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(devhostErrors.listenFailed(`${options.host}:${options.port}`, e)));
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  const stopAccepting = (): void => {
    if (closed) return;
    accepting = false;
    closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
  };
  return {
    baseUrl: `http://${options.host}:${port}`,
    port,
    open,
    stopAccepting,
    close: async () => {
      stopAccepting();
      server.closeAllConnections();
      await closed;
    },
  };
}
