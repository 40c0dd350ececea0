/**
 * The Durable Functions HTTP management API under /runtime/webhooks/durabletask/, as the
 * Durable extension's HttpApiHandler serves it and `durable-functions`' DurableClient calls it:
 *
 *   POST   orchestrators/{functionName}[/{instanceId}]   start (202 + status links; 409 if the id is active)
 *   GET    instances/{instanceId}                       status (202 while running, 200 when done, 404)
 *   GET    instances/                                   list/query (createdTimeFrom/To, runtimeStatus,
 *                                                        instanceIdPrefix, showInput, top + continuation)
 *   DELETE instances/{instanceId}                       purge one (200 {instancesDeleted}, 404)
 *   DELETE instances/                                   purge by createdTimeFrom/To and runtimeStatus
 *   POST   instances/{instanceId}/raiseEvent/{eventName}
 *   POST   instances/{instanceId}/terminate|suspend|resume|restart|rewind
 *   *      entities/…                                   501: durable entities are not supported
 */
import type { ExtensionRoute } from '../hostTypes';
import { managementPayload, WEBHOOK_PATH } from './clientBinding';
import type { DurableEngine, StartResult } from './engine';
import { isTerminalStatus, RUNTIME_STATUSES, RuntimeStatus } from './instanceModel';
import { statusPayload } from './statusPayload';

type RouteRequest = Parameters<ExtensionRoute['handle']>[0];
type RouteResponse = Awaited<ReturnType<ExtensionRoute['handle']>>;

export interface ManagementApiContext {
  /** The running engine, or undefined before start / after stop. */
  engine(): DurableEngine | undefined;
  taskHubName(): string;
  /** The host's base URL (used when a request carries no Host header). */
  baseUrl(): string;
}

/** OrchestrationStatusQueryCondition.PageSize's default. */
const DEFAULT_PAGE_SIZE = 100;
const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8' };

function json(status: number, body: unknown, headers: Record<string, string> = {}): RouteResponse {
  return { status, headers: { ...JSON_HEADERS, ...headers }, body: Buffer.from(JSON.stringify(body), 'utf8') };
}

function error(status: number, message: string, exceptionMessage?: string): RouteResponse {
  return json(status, exceptionMessage === undefined ? { Message: message } : { Message: message, ExceptionMessage: exceptionMessage });
}

function empty(status: number): RouteResponse {
  return { status };
}

function header(req: RouteRequest, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(req.headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

function boolParam(query: URLSearchParams, name: string): boolean | undefined {
  const value = query.get(name)?.trim().toLowerCase();
  if (value === 'true') return true;
  if (value === 'false') return false;
  return undefined;
}

function dateParam(query: URLSearchParams, name: string): Date | undefined {
  const value = query.get(name);
  if (!value) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t);
}

function statusesParam(query: URLSearchParams): RuntimeStatus[] | undefined {
  const values = query
    .getAll('runtimeStatus')
    .flatMap((v) => v.split(','))
    .map((v) => v.trim().toLowerCase())
    .filter((v) => v.length > 0);
  const statuses = RUNTIME_STATUSES.filter((s) => values.includes(s.toLowerCase()));
  return statuses.length > 0 ? statuses : undefined;
}

/** Origin the links point at: the request's own host when known (as HttpApiHandler uses the request URI). */
function origin(req: RouteRequest, ctx: ManagementApiContext): string {
  const host = header(req, 'host');
  return host ? `http://${host}` : ctx.baseUrl();
}

/** A JSON body as normalized JSON text (null when empty); throws SyntaxError when invalid. */
function bodyJson(req: RouteRequest): string | null {
  const text = req.body.toString('utf8');
  if (text.trim().length === 0) return null;
  return JSON.stringify(JSON.parse(text));
}

function checkStatusResponse(req: RouteRequest, ctx: ManagementApiContext, instanceId: string): RouteResponse {
  const links = managementPayload(origin(req, ctx), instanceId, ctx.taskHubName());
  return json(
    202,
    {
      id: instanceId,
      statusQueryGetUri: links.statusQueryGetUri,
      sendEventPostUri: links.sendEventPostUri,
      terminatePostUri: links.terminatePostUri,
      purgeHistoryDeleteUri: links.purgeHistoryDeleteUri,
      restartPostUri: links.restartPostUri,
      suspendPostUri: links.suspendPostUri,
      resumePostUri: links.resumePostUri,
    },
    { Location: links.statusQueryGetUri, 'Retry-After': '10' },
  );
}

async function startResponse(
  req: RouteRequest,
  ctx: ManagementApiContext,
  engine: DurableEngine,
  result: StartResult,
): Promise<RouteResponse> {
  if (result.kind === 'badRequest') return error(400, 'One or more of the arguments submitted is incorrect', result.message);
  if (result.kind === 'conflict') return error(409, result.message);
  const timeoutSeconds = Number(req.query.get('timeout'));
  const intervalSeconds = Number(req.query.get('pollingInterval'));
  if (req.query.has('timeout') && req.query.has('pollingInterval') && timeoutSeconds > 0 && intervalSeconds > 0) {
    return waitForCompletion(req, ctx, engine, result.instanceId, timeoutSeconds * 1000, intervalSeconds * 1000);
  }
  return checkStatusResponse(req, ctx, result.instanceId);
}

async function waitForCompletion(
  req: RouteRequest,
  ctx: ManagementApiContext,
  engine: DurableEngine,
  instanceId: string,
  timeoutMs: number,
  intervalMs: number,
): Promise<RouteResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await engine.getStatus(instanceId);
    if (status && isTerminalStatus(status.record.runtimeStatus)) {
      if (status.record.runtimeStatus === 'Completed') return json(200, statusPayload(status.record, { showInput: true }).output);
      const fail = boolParam(req.query, 'returnInternalServerErrorOnFailure') === true && status.record.runtimeStatus === 'Failed';
      return json(fail ? 500 : 200, statusPayload(status.record, { showInput: true }));
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) return checkStatusResponse(req, ctx, instanceId);
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, remaining)));
  }
}

export function managementRoutes(ctx: ManagementApiContext): ExtensionRoute[] {
  const base = WEBHOOK_PATH.replace(/^\//, '');

  const withEngine =
    (handler: (req: RouteRequest, engine: DurableEngine) => Promise<RouteResponse>) =>
    async (req: RouteRequest): Promise<RouteResponse> => {
      const engine = ctx.engine();
      if (!engine) return error(503, 'The Durable Functions extension is not running.');
      try {
        return await handler(req, engine);
      } catch (e) {
        if (e instanceof SyntaxError) return error(400, 'Invalid JSON content', e.message);
        return error(500, 'Something went wrong while processing your request', e instanceof Error ? e.message : String(e));
      }
    };

  const start = withEngine(async (req, engine) => {
    const input = bodyJson(req);
    const result = await engine.startNew(req.params.functionName ?? '', req.params.instanceId, input);
    return startResponse(req, ctx, engine, result);
  });

  const getStatus = withEngine(async (req, engine) => {
    const instanceId = req.params.instanceId;
    if (instanceId === undefined || instanceId === '') return listInstances(req, engine);
    const showHistory = boolParam(req.query, 'showHistory') ?? false;
    const showHistoryOutput = boolParam(req.query, 'showHistoryOutput') ?? false;
    const showInput = boolParam(req.query, 'showInput') ?? true;
    const status = await engine.getStatus(instanceId, { showHistory });
    if (!status) return empty(404);
    const payload = statusPayload(status.record, { showInput, history: status.history, showHistoryOutput });
    switch (status.record.runtimeStatus) {
      case 'Running':
      case 'Pending':
      case 'ContinuedAsNew':
      case 'Suspended': {
        const self = `${origin(req, ctx)}${WEBHOOK_PATH}/instances/${encodeURIComponent(instanceId)}`;
        const query = req.query.toString();
        return json(202, payload, { Location: query ? `${self}?${query}` : self, 'Retry-After': '5' });
      }
      case 'Failed':
        return json(boolParam(req.query, 'returnInternalServerErrorOnFailure') === true ? 500 : 200, payload);
      default:
        return json(200, payload);
    }
  });

  const listInstances = async (req: RouteRequest, engine: DurableEngine): Promise<RouteResponse> => {
    const showInput = boolParam(req.query, 'showInput') ?? true;
    const all = engine.query({
      createdTimeFrom: dateParam(req.query, 'createdTimeFrom'),
      createdTimeTo: dateParam(req.query, 'createdTimeTo'),
      runtimeStatus: statusesParam(req.query),
      instanceIdPrefix: req.query.get('instanceIdPrefix') ?? undefined,
    });
    const top = Number(req.query.get('top'));
    const offset = Number(Buffer.from(header(req, 'x-ms-continuation-token') ?? '', 'base64').toString('utf8')) || 0;
    const pageSize = Number.isInteger(top) && top > 0 ? top : DEFAULT_PAGE_SIZE;
    const page = all.slice(offset, offset + pageSize);
    const headers: Record<string, string> = {};
    if (offset + pageSize < all.length) headers['x-ms-continuation-token'] = Buffer.from(String(offset + pageSize)).toString('base64');
    return json(
      200,
      page.map((r) => statusPayload(r, { showInput })),
      headers,
    );
  };

  const purge = withEngine(async (req, engine) => {
    const instanceId = req.params.instanceId;
    if (instanceId !== undefined && instanceId !== '') {
      const deleted = await engine.purge(instanceId);
      return deleted === 0 ? empty(404) : json(200, { instancesDeleted: deleted });
    }
    const createdTimeFrom = dateParam(req.query, 'createdTimeFrom');
    if (!createdTimeFrom) return json(400, "Please provide value for 'createdTimeFrom' parameter.");
    const deleted = await engine.purgeWhere({
      createdTimeFrom,
      createdTimeTo: dateParam(req.query, 'createdTimeTo') ?? new Date(),
      runtimeStatus: statusesParam(req.query),
    });
    return deleted === 0 ? empty(404) : json(200, { instancesDeleted: deleted });
  });

  const raiseEvent = withEngine(async (req, engine) => {
    const instanceId = req.params.instanceId ?? '';
    const status = await engine.getStatus(instanceId);
    if (!status) return empty(404);
    if (isTerminalStatus(status.record.runtimeStatus)) return empty(410);
    const contentType = header(req, 'content-type')?.split(';')[0]?.trim().toLowerCase();
    if (req.body.length > 0 && contentType !== 'application/json') {
      return error(400, 'Only application/json request content is supported');
    }
    const data = bodyJson(req);
    const result = await engine.raiseEvent(instanceId, req.params.eventName ?? '', data);
    return result === 'accepted' ? empty(202) : empty(result === 'gone' ? 410 : 404);
  });

  const operation = withEngine(async (req, engine) => {
    const instanceId = req.params.instanceId ?? '';
    const op = (req.params.operation ?? '').toLowerCase();
    const reason = req.query.get('reason');
    switch (op) {
      case 'terminate':
      case 'suspend':
      case 'resume': {
        const result =
          op === 'terminate'
            ? await engine.terminate(instanceId, reason)
            : op === 'suspend'
              ? await engine.suspend(instanceId, reason)
              : await engine.resume(instanceId, reason);
        return empty(result === 'accepted' ? 202 : result === 'gone' ? 410 : 404);
      }
      case 'restart': {
        const result = await engine.restart(instanceId, boolParam(req.query, 'restartWithNewInstanceId') ?? true);
        if (!result) return error(400, 'InstanceId does not match a valid orchestration instance.');
        return startResponse(req, ctx, engine, result);
      }
      case 'rewind': {
        const status = await engine.getStatus(instanceId);
        if (!status) return empty(404);
        return error(501, 'The rewind operation is not supported by the local Functions host.');
      }
      default:
        return empty(404);
    }
  });

  const entities = async (): Promise<RouteResponse> =>
    error(501, 'Durable entities are not supported by the local Functions host.');

  return [
    { method: 'POST', path: `${base}/orchestrators/{functionName}/{instanceId?}`, handle: start },
    { method: 'GET', path: `${base}/instances/{instanceId?}`, handle: getStatus },
    { method: 'DELETE', path: `${base}/instances/{instanceId?}`, handle: purge },
    { method: 'POST', path: `${base}/instances/{instanceId}/raiseEvent/{eventName}`, handle: raiseEvent },
    { method: 'POST', path: `${base}/instances/{instanceId}/{operation}`, handle: operation },
    { method: 'GET', path: `${base}/entities/{*path}`, handle: entities },
    { method: 'POST', path: `${base}/entities/{*path}`, handle: entities },
    { method: 'DELETE', path: `${base}/entities/{*path}`, handle: entities },
  ];
}
