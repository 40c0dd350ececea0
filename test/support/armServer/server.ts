/**
 * The ARM test server: an HTTPS server on 127.0.0.1 (a certificate made at start, see
 * tlsCertificate.ts) that answers the Compute requests of `@azure/arm-compute` for disks,
 * snapshots and virtual machines, keeps disk bytes in Azurite, records what happened, and fails
 * on request. Start one per test file with `startArmServer()`; `server.client()` is a real
 * ComputeManagementClient pointed at it.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { ComputeManagementClient, type ComputeManagementClientOptionalParams } from '@azure/arm-compute';
import type { AccessToken, TokenCredential } from '@azure/identity';
import type { PageBlobClient } from '@azure/storage-blob';
import { AccessGrants, type GrantRecord } from './accessGrants';
import { ArmError, armErrors, toArmError } from './armErrors';
import type { ArmRequest, ArmResponse, ServerContext } from './context';
import { operationUrl } from './context';
import { DiskDataStore, parseStorageAccount } from './diskData';
import { beginGetAccess, deleteDisk, endGetAccess, getDisk, listDisks, patchDisk, putDisk, refreshDiskState } from './diskHandlers';
import { FaultInjector, type ArmOperationKind } from './faults';
import { AZURE_LIMITS, SnapshotLimits, type ArmLimits } from './limits';
import { Operations, type Operation, type OperationRecord } from './operations';
import { ResourceStore } from './resourceStore';
import { parseRoute, type ArmRoute } from './routes';
import { makeTestCertificate } from './tlsCertificate';
import { deleteVm, getVm, listVms, putVm, vmDiskIds } from './vmHandlers';
import { scrubSecrets } from '../secretScan';
import { startStorageProxy, type StorageProxy } from './storageProxy';
import { startIdentityEndpoint, type IdentityEndpoint } from './identityEndpoint';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const DISK_API_VERSIONS = ['2025-01-02', '2024-03-02', '2023-10-02', '2023-04-02', '2022-07-02'] as const;
export const VM_API_VERSIONS = ['2026-03-01', '2025-04-01', '2024-11-01', '2024-07-01', '2024-03-01'] as const;

export interface ArmServerOptions {
  /** Storage connection string (with key) of the Azurite that holds disk bytes; default: the test run's. */
  storageConnectionString?: string;
  subscriptionId?: string;
  /** The region the server answers with in operation URLs (resources keep the location they were given). */
  location?: string;
  /** Polls a long-running operation answers `InProgress` before its end (default 1). */
  pollsBeforeDone?: number;
  /** `Retry-After` seconds on 202 answers (default: none, so the client's own interval applies). */
  pollRetryAfterSeconds?: number;
  /** Items per list page before a `nextLink` (default 50). */
  listPageSize?: number;
  /** Azure's snapshot limits (default AZURE_LIMITS), e.g. a short incremental-snapshot window. */
  limits?: Partial<ArmLimits>;
  /** The clock of the incremental-snapshot window, in ms (default Date.now). */
  now?: () => number;
}

export interface RequestRecord {
  readonly at: Date;
  readonly method: string;
  /** The path without its query string (ARM requests carry no secret in either). */
  readonly path: string;
  readonly operation?: ArmOperationKind;
  readonly phase: 'initial' | 'poll';
  status: number;
  /** The ARM error code answered, if any. */
  code?: string;
  /** The injected fault that produced the answer, if any. */
  fault?: string;
}

export interface ArmRecords {
  requests(): RequestRecord[];
  operations(): OperationRecord[];
  /** Every grant: resource, access, started, expires, ended (and why). */
  grants(): GrantRecord[];
  /** Grants that still give access now (neither revoked nor expired). */
  activeGrants(): GrantRecord[];
}

export interface ArmTestServer {
  /** `https://127.0.0.1:<port>`: the client's `endpoint`. */
  readonly endpoint: string;
  readonly subscriptionId: string;
  /** PEM of the server's self-signed certificate, for `tlsOptions.ca`. */
  readonly caPem: string;
  /** A TokenCredential that returns the one token the server accepts. */
  readonly credential: TokenCredential;
  /** The options that point a ComputeManagementClient at this server (endpoint, CA, fast retries). */
  clientOptions(extra?: ComputeManagementClientOptionalParams): ComputeManagementClientOptionalParams;
  /** A real ComputeManagementClient for this server. */
  client(extra?: ComputeManagementClientOptionalParams): ComputeManagementClient;
  /** Options for begin* calls so the client polls every 10 ms instead of every 2 s. */
  readonly fastPolling: { updateIntervalInMs: number };
  readonly faults: FaultInjector;
  readonly records: ArmRecords;
  /** Shorthand for `records.activeGrants()`. */
  activeGrants(): GrantRecord[];
  /**
   * The bytes of a disk or snapshot as a page blob client with the account key: what the VM
   * writes to its disk (tests write through it), or what a test reads to check a result.
   */
  dataOf(resourceId: string): PageBlobClient;
  /** The managed disk ids of a VM, OS disk first (from the server's records, no ARM call). */
  vmDisks(vmId: string): string[];
  /** The account key of the Azurite behind the server, for secret scans. */
  readonly storageAccountKey: string;
  /**
   * The blob endpoint of the access URLs (a proxy in front of Azurite that answers Azure's
   * 4 TiB diff rule, storageProxy.ts): how many diffs it refused.
   */
  readonly storage: Pick<StorageProxy, 'origin' | 'refusedDiffs'>;
  /**
   * App Service's managed-identity endpoint (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`) answering
   * the token this server accepts: set `managedIdentity.env()` in a process's environment and
   * `new ManagedIdentityCredential()` works against this server unchanged.
   */
  readonly managedIdentity: Pick<IdentityEndpoint, 'endpoint' | 'header' | 'env' | 'requests'>;
  /**
   * Writes `caPem` to a temporary file (removed by close) and returns its path, for
   * `NODE_EXTRA_CA_CERTS` of a spawned process that must trust this server.
   */
  writeCaFile(): Promise<string>;
  close(): Promise<void>;
}

const STATIC_TOKEN_PREFIX = 'deltavault-arm-test-token-';

/** A credential that always returns `token` (the server accepts exactly that bearer token). */
export function staticTokenCredential(token: string): TokenCredential {
  return {
    getToken: async (): Promise<AccessToken> => ({ token, expiresOnTimestamp: Date.now() + 60 * 60_000 }),
  };
}

function operationFor(route: ArmRoute, method: string): ArmOperationKind | undefined {
  if (route.kind === 'list') return `${route.type}.list` as ArmOperationKind;
  if (route.kind === 'action') return `${route.type}.${route.action === 'beginGetAccess' ? 'grantAccess' : 'revokeAccess'}` as ArmOperationKind;
  if (route.kind !== 'resource') return undefined;
  const verb = { GET: 'get', PUT: 'createOrUpdate', PATCH: 'update', DELETE: 'delete' }[method];
  return verb ? (`${route.type}.${verb}` as ArmOperationKind) : undefined;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw armErrors.invalidRequestContent('The request content was invalid and could not be deserialized.');
  }
}

export async function startArmServer(options: ArmServerOptions = {}): Promise<ArmTestServer> {
  const connectionString = options.storageConnectionString ?? process.env.DELTAVAULT_TEST_STORAGE;
  if (!connectionString) throw new Error('startArmServer: no storage connection string (run under jest, whose global setup starts Azurite)');
  const account = parseStorageAccount(connectionString);
  const subscriptionId = options.subscriptionId ?? randomUUID();
  const location = options.location ?? 'westeurope';
  const token = `${STATIC_TOKEN_PREFIX}${randomBytes(8).toString('hex')}`;
  const certificate = makeTestCertificate();
  const data = new DiskDataStore(account, `arm${randomBytes(3).toString('hex')}`);
  const store = new ResourceStore();
  const armLimits: ArmLimits = { ...AZURE_LIMITS, ...options.limits };
  const VHD_FOOTER = 512;
  const proxy = await startStorageProxy(account.blobEndpoint, {
    boundaryBytes: armLimits.diffSizeBoundaryBytes,
    diskBytesOf: (container, snapshot) => {
      const r = store.all().find((o) => o.data?.container === container && o.data.snapshot === snapshot);
      if (r?.sizeBytes === undefined) return undefined;
      return r.sizeBytes % (1024 * 1024) === VHD_FOOTER ? r.sizeBytes - VHD_FOOTER : r.sizeBytes;
    },
  });
  const azuriteOrigin = new URL(account.blobEndpoint).origin;
  const grants = new AccessGrants(data, (url) => (url.startsWith(azuriteOrigin) ? `${proxy.origin}${url.slice(azuriteOrigin.length)}` : url));
  const operations = new Operations(options.pollsBeforeDone ?? 1);
  const limits = new SnapshotLimits(armLimits, options.now ?? Date.now);
  const faults = new FaultInjector();
  const requests: RequestRecord[] = [];
  let pendingFailure: ArmError | undefined;

  const server: Server = createServer({ cert: certificate.certPem, key: certificate.keyPem });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the ARM test server has no port');
  const endpoint = `https://127.0.0.1:${address.port}`;

  const ctx: ServerContext = {
    endpoint,
    subscriptionId,
    location,
    store,
    data,
    grants,
    operations,
    limits,
    listPageSize: options.listPageSize ?? 50,
    pollRetryAfterSeconds: options.pollRetryAfterSeconds,
    startOperation: (kind, id, work) => {
      const failWith = pendingFailure;
      pendingFailure = undefined;
      return operations.start(kind, id, work, failWith);
    },
  };

  function checkApiVersion(route: ArmRoute, apiVersion: string | null, op?: Operation): string {
    if (!apiVersion) throw armErrors.missingApiVersion();
    const vm = route.kind === 'operation' ? op?.record.kind.startsWith('virtualMachines.') : 'type' in route && route.type === 'virtualMachines';
    const supported: readonly string[] = vm ? VM_API_VERSIONS : DISK_API_VERSIONS;
    if (!supported.includes(apiVersion)) {
      throw armErrors.unsupportedApiVersion(apiVersion, vm ? 'virtualMachines' : 'disks', supported);
    }
    return apiVersion;
  }

  function pollAnswer(op: Operation, monitor: boolean, apiVersion: string): ArmResponse {
    const status = op.poll();
    const retry: Record<string, string> = ctx.pollRetryAfterSeconds === undefined ? {} : { 'retry-after': String(ctx.pollRetryAfterSeconds) };
    if (!monitor) {
      const { record } = op;
      return {
        status: 200,
        headers: retry,
        body: {
          name: record.id,
          status,
          startTime: record.startedAt.toISOString(),
          ...(record.endedAt ? { endTime: record.endedAt.toISOString() } : {}),
          ...(status === 'Failed' && op.failure ? { error: op.failure.body().error } : {}),
        },
      };
    }
    if (status === 'InProgress') return { status: 202, headers: { ...retry, location: operationUrl(ctx, op, apiVersion, true) } };
    if (status === 'Failed' && op.failure) throw op.failure;
    return op.result === undefined ? { status: 200 } : { status: 200, body: op.result };
  }

  async function dispatch(route: ArmRoute, request: ArmRequest, op?: Operation): Promise<ArmResponse> {
    const m = request.method;
    switch (route.kind) {
      case 'operation': {
        if (!op) throw armErrors.operationNotFound(route.operationId);
        if (m !== 'GET') throw armErrors.methodNotAllowed(m, request.path);
        return pollAnswer(op, request.query.get('monitor') === 'true', request.apiVersion);
      }
      case 'list':
        if (m !== 'GET') throw armErrors.methodNotAllowed(m, request.path);
        return route.type === 'virtualMachines'
          ? listVms(ctx, request, route.subscriptionId, route.resourceGroup)
          : listDisks(ctx, request, route.subscriptionId, route.type, route.resourceGroup);
      case 'action': {
        if (m !== 'POST') throw armErrors.methodNotAllowed(m, request.path);
        const t = { ...route, type: route.type as 'disks' | 'snapshots' };
        return route.action === 'beginGetAccess' ? beginGetAccess(ctx, request, t) : endGetAccess(ctx, request, t);
      }
      case 'resource': {
        if (route.type === 'virtualMachines') {
          if (m === 'GET') return getVm(ctx, route);
          if (m === 'PUT') return putVm(ctx, request, route);
          if (m === 'DELETE') return deleteVm(ctx, request, route);
          throw armErrors.methodNotAllowed(m, request.path);
        }
        const t = { ...route, type: route.type };
        if (m === 'GET') return getDisk(ctx, t);
        if (m === 'PUT') return putDisk(ctx, request, t);
        if (m === 'PATCH') return patchDisk(ctx, request, t);
        if (m === 'DELETE') return deleteDisk(ctx, request, t);
        throw armErrors.methodNotAllowed(m, request.path);
      }
      default:
        throw armErrors.invalidResourceType(request.path);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', endpoint);
    const method = (req.method ?? 'GET').toUpperCase();
    const route = parseRoute(url.pathname);
    const op = route.kind === 'operation' ? operations.get(route.operationId) : undefined;
    const record: RequestRecord = {
      at: new Date(),
      method,
      path: url.pathname,
      operation: op ? op.record.kind : operationFor(route, method),
      phase: op ? 'poll' : 'initial',
      status: 0,
    };
    requests.push(record);
    let answer: ArmResponse;
    try {
      const body = await readBody(req);
      if (req.headers.authorization !== `Bearer ${token}`) throw armErrors.authenticationFailed();
      if (route.kind !== 'unknown' && route.subscriptionId.toLowerCase() !== subscriptionId.toLowerCase()) throw armErrors.subscriptionNotFound(route.subscriptionId);
      const apiVersion = checkApiVersion(route, url.searchParams.get('api-version'), op);
      for (const d of store.all()) refreshDiskState(ctx, d);
      const facts = { method, path: url.pathname, operation: record.operation, phase: record.phase };
      const fault = faults.take(facts, ['throttle', 'serverError']);
      if (fault) {
        record.fault = fault.spec.kind;
        if (fault.spec.kind === 'throttle') throw armErrors.tooManyRequests(fault.spec.retryAfterSeconds ?? 1);
        throw armErrors.internalServerError(fault.spec.message);
      }
      const failing = record.phase === 'initial' ? faults.take(facts, ['lroFailed']) : undefined;
      if (failing) record.fault = 'lroFailed';
      pendingFailure = failing ? armErrors.operationFailed(failing.spec.code, failing.spec.message) : undefined;
      try {
        answer = await dispatch(route, { method, path: url.pathname, query: url.searchParams, body, apiVersion }, op);
      } finally {
        pendingFailure = undefined;
      }
    } catch (e) {
      const error = toArmError(e);
      const safe = new ArmError(error.status, error.code, scrubSecrets(error.message, [account.accountKey]), error.headers, error.target);
      answer = { status: safe.status, body: safe.body(), headers: safe.headers };
      record.code = safe.code;
    }
    record.status = answer.status;
    const headers: Record<string, string> = { 'x-ms-request-id': randomUUID(), ...answer.headers };
    const clientRequestId = req.headers['x-ms-client-request-id'];
    if (typeof clientRequestId === 'string') headers['x-ms-client-request-id'] = clientRequestId;
    if (answer.body === undefined) {
      res.writeHead(answer.status, { ...headers, 'content-length': '0' });
      res.end();
      return;
    }
    const text = JSON.stringify(answer.body);
    res.writeHead(answer.status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((e: unknown) => {
      // Only reachable if writing the answer failed; never echo a secret.
      if (!res.headersSent) res.writeHead(500).end();
      console.error(`ARM test server: ${scrubSecrets(e instanceof Error ? e.message : String(e), [account.accountKey])}`);
    });
  });

  const credential = staticTokenCredential(token);
  const identity = await startIdentityEndpoint(() => token);
  let caDir: string | undefined;
  const clientOptions = (extra: ComputeManagementClientOptionalParams = {}): ComputeManagementClientOptionalParams => ({
    endpoint,
    ...extra,
    tlsOptions: { ca: certificate.certPem, ...extra.tlsOptions },
    retryOptions: { retryDelayInMs: 20, maxRetryDelayInMs: 200, ...extra.retryOptions },
  });
  const records: ArmRecords = {
    requests: () => requests.map((r) => ({ ...r })),
    operations: () => operations.records(),
    grants: () => grants.all(),
    activeGrants: () => grants.active(),
  };
  return {
    endpoint,
    subscriptionId,
    caPem: certificate.certPem,
    credential,
    clientOptions,
    client: (extra) => new ComputeManagementClient(credential, subscriptionId, clientOptions(extra)),
    fastPolling: { updateIntervalInMs: 10 },
    faults,
    records,
    activeGrants: () => grants.active(),
    dataOf: (id) => {
      const r = store.get(id);
      if (!r?.data) throw new Error(`the ARM test server has no data for ${id}`);
      return data.blobClient(r.data);
    },
    vmDisks: (vmId) => {
      const vm = store.get(vmId);
      if (!vm) throw new Error(`the ARM test server has no VM ${vmId}`);
      return vmDiskIds(vm.properties);
    },
    storageAccountKey: account.accountKey,
    storage: { origin: proxy.origin, refusedDiffs: () => proxy.refusedDiffs() },
    managedIdentity: identity,
    writeCaFile: async () => {
      caDir ??= await mkdtemp(join(tmpdir(), 'deltavault-arm-ca-'));
      const path = join(caDir, 'arm-test-server-ca.pem');
      await writeFile(path, certificate.certPem, { mode: 0o600 });
      return path;
    },
    close: async () => {
      await operations.idle();
      await Promise.all([proxy.close(), identity.close(), caDir ? rm(caDir, { recursive: true, force: true }) : undefined]);
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
