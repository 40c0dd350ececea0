/**
 * A managed-identity token endpoint as App Service (and so Azure Functions) exposes it to the
 * app: `IDENTITY_ENDPOINT` (plain HTTP on loopback) and `IDENTITY_HEADER` (a secret the caller
 * echoes in `X-IDENTITY-HEADER`). `GET <endpoint>?resource=<uri>&api-version=2019-08-01` answers
 * `{ access_token, expires_on, resource, token_type }` (`expires_on` in epoch seconds, as a
 * string; `client_id` too). @azure/identity's ManagedIdentityCredential (through msal-node's
 * App Service source, picked when both variables are set) gets the server's bearer token this
 * way, so an app process talks to the ARM test server unchanged.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';

export const APP_SERVICE_MSI_API_VERSION = '2019-08-01';

export interface IdentityEndpoint {
  /** The value for `IDENTITY_ENDPOINT`. */
  readonly endpoint: string;
  /** The value for `IDENTITY_HEADER` (a per-server secret). */
  readonly header: string;
  /** `{ IDENTITY_ENDPOINT, IDENTITY_HEADER }`, for a child process's environment. */
  env(): Record<string, string>;
  /** Token requests answered so far, and those refused. */
  requests(): Array<{ resource?: string; clientId?: string; status: number }>;
  close(): Promise<void>;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

export async function startIdentityEndpoint(token: () => string): Promise<IdentityEndpoint> {
  const header = randomBytes(16).toString('hex');
  const seen: Array<{ resource?: string; clientId?: string; status: number }> = [];
  const clientId = randomUUID();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const resource = url.searchParams.get('resource') ?? undefined;
    const requestedClient = url.searchParams.get('client_id') ?? url.searchParams.get('mi_res_id') ?? url.searchParams.get('principal_id') ?? undefined;
    const answer = (status: number, body: unknown): void => {
      seen.push({ resource, clientId: requestedClient, status });
      json(res, status, body);
    };
    if (req.method !== 'GET' || url.pathname !== '/msi/token') return answer(404, { error: 'not_found' });
    if (req.headers['x-identity-header'] !== header) return answer(401, { error: 'invalid_request', error_description: 'The X-IDENTITY-HEADER is missing or wrong.' });
    if (url.searchParams.get('api-version') !== APP_SERVICE_MSI_API_VERSION) {
      return answer(400, { error: 'invalid_request', error_description: `api-version must be ${APP_SERVICE_MSI_API_VERSION}.` });
    }
    if (!resource) return answer(400, { error: 'invalid_request', error_description: 'The resource parameter is required.' });
    const expiresOn = Math.floor(Date.now() / 1000) + 3600;
    return answer(200, { access_token: token(), expires_on: String(expiresOn), resource, token_type: 'Bearer', client_id: requestedClient ?? clientId });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the identity endpoint has no port');
  const endpoint = `http://127.0.0.1:${address.port}/msi/token`;
  return {
    endpoint,
    header,
    env: () => ({ IDENTITY_ENDPOINT: endpoint, IDENTITY_HEADER: header }),
    requests: () => seen.map((r) => ({ ...r })),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
