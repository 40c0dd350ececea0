/**
 * An HTTP proxy in front of the test Azurite that adds the one operation the emulator lacks and
 * deltavault uses on Azure: Put Page From URL (Azurite answers 501). Every other request is
 * passed through untouched, so clients built from `connectionString` talk to the real Azurite.
 *
 * A Put Page From URL is served as Azure serves it: the source range is fetched from
 * `x-ms-copy-source` — with the SAS the URL carries, or, given `x-ms-copy-source-authorization:
 * Bearer …`, on the caller's behalf — and written into the target range with the request's lease
 * id; a source that cannot be read answers 403 `CannotVerifyCopySource` with the source's status.
 * The proxy does not check the caller's SharedKey signature (Azurite checks every request it
 * passes on). `mode` switches it to answer like the emulator (`notImplemented`) or like a service
 * that cannot reach any source (`sourceUnreachable`). Each served copy is recorded, the source
 * URL without its query (a SAS is a secret even in a test log).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AnonymousCredential, BlobClient, PageBlobClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { storageCode, storageStatus } from '../../src/errors';

export interface ServedCopy {
  target: string;
  /** The source URL without its query string. */
  source: string;
  authorization: 'sas' | 'bearer';
  range: [number, number];
  sourceRange: [number, number];
}

export interface ServerCopyProxy {
  /** An Azurite connection string whose blob endpoint is this proxy. */
  readonly connectionString: string;
  mode: 'copy' | 'notImplemented' | 'sourceUnreachable';
  readonly served: ServedCopy[];
  /** Put Page From URL requests answered with an error (501 or 403). */
  refused: number;
  close(): Promise<void>;
}

export async function startServerCopyProxy(azuriteConnectionString: string): Promise<ServerCopyProxy> {
  const settings = new Map(azuriteConnectionString.split(';').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const blobEndpoint = new URL(settings.get('BlobEndpoint') ?? '');
  const key = new StorageSharedKeyCredential(settings.get('AccountName') ?? '', settings.get('AccountKey') ?? '');
  const upstream = { host: blobEndpoint.hostname, port: Number(blobEndpoint.port) };

  const proxy: ServerCopyProxy = {
    connectionString: '',
    mode: 'copy',
    served: [],
    refused: 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    if (req.method === 'PUT' && url.searchParams.get('comp') === 'page' && req.headers['x-ms-copy-source']) {
      req.resume();
      serveCopy(req, url, res).catch((e: unknown) => answer(res, 500, 'InternalError', e instanceof Error ? e.message : String(e)));
      return;
    }
    const forward = http.request({ ...upstream, method: req.method, path: req.url, headers: { ...req.headers, host: `${upstream.host}:${upstream.port}` } }, (reply) => {
      res.writeHead(reply.statusCode ?? 502, reply.headers);
      reply.pipe(res);
    });
    forward.on('error', (e) => answer(res, 502, 'ProxyError', e.message));
    req.pipe(forward);
  });

  async function serveCopy(req: http.IncomingMessage, url: URL, res: http.ServerResponse): Promise<void> {
    if (proxy.mode === 'notImplemented') {
      proxy.refused++;
      return answer(res, 501, 'APINotImplemented', 'Current API is not implemented yet.');
    }
    const sourceUrl = String(req.headers['x-ms-copy-source']);
    const bearer = /^Bearer .+/.test(String(req.headers['x-ms-copy-source-authorization'] ?? ''));
    const sas = new URL(sourceUrl).searchParams.has('sig');
    if (proxy.mode === 'sourceUnreachable' || (!sas && !bearer)) {
      proxy.refused++;
      return answer(res, 403, 'CannotVerifyCopySource', 'This request is not authorized to perform this operation.', { 'x-ms-copy-source-status-code': '403' });
    }
    const range = parseRange(req.headers['x-ms-range'] ?? req.headers.range);
    const sourceRange = parseRange(req.headers['x-ms-source-range']);
    if (!range || !sourceRange || range[1] - range[0] !== sourceRange[1] - sourceRange[0]) {
      return answer(res, 400, 'InvalidHeaderValue', 'x-ms-range and x-ms-source-range must name ranges of one length.');
    }
    const count = range[1] - range[0] + 1;
    // A bearer-authorized source is read as the caller (the emulator has no Entra identities).
    const source = new BlobClient(sourceUrl, sas ? new AnonymousCredential() : key);
    let bytes: Buffer;
    try {
      bytes = await source.downloadToBuffer(sourceRange[0], count);
    } catch (e) {
      proxy.refused++;
      return answer(res, 403, 'CannotVerifyCopySource', `the copy source answered ${storageStatus(e) ?? 'an error'}`, {
        'x-ms-copy-source-status-code': String(storageStatus(e) ?? 500),
        ...(storageCode(e) ? { 'x-ms-copy-source-error-code': String(storageCode(e)) } : {}),
      });
    }
    const target = new PageBlobClient(`http://${upstream.host}:${upstream.port}${url.pathname}`, key);
    const leaseId = req.headers['x-ms-lease-id'];
    try {
      const written = await target.uploadPages(bytes, range[0], count, { conditions: typeof leaseId === 'string' ? { leaseId } : undefined });
      proxy.served.push({ target: url.pathname, source: sourceUrl.split('?')[0] ?? '', authorization: sas ? 'sas' : 'bearer', range, sourceRange });
      res.writeHead(201, {
        ETag: written.etag ?? '',
        'Last-Modified': written.lastModified?.toUTCString() ?? new Date().toUTCString(),
        'x-ms-blob-sequence-number': String(written.blobSequenceNumber ?? 0),
        'x-ms-request-server-encrypted': 'true',
        'x-ms-request-id': written.requestId ?? '',
        'x-ms-version': written.version ?? '',
        Date: new Date().toUTCString(),
        'Content-Length': '0',
      });
      res.end();
    } catch (e) {
      answer(res, storageStatus(e) ?? 500, storageCode(e) ?? 'InternalError', e instanceof Error ? e.message.split('\n')[0] ?? '' : String(e));
    }
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const proxied = new URL(blobEndpoint.toString());
  proxied.host = `127.0.0.1:${port}`;
  (proxy as { connectionString: string }).connectionString = azuriteConnectionString.replace(/BlobEndpoint=[^;]+/, `BlobEndpoint=${proxied.toString().replace(/\/$/, '')}`);
  return proxy;
}

function parseRange(header: string | string[] | undefined): [number, number] | undefined {
  const m = /^bytes=(\d+)-(\d+)$/.exec(String(header ?? ''));
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

function answer(res: http.ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.end();
  const body = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message.replace(/[<&]/g, ' ')}</Message></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml', 'x-ms-error-code': code, 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
