/**
 * The blob endpoint of the access URLs the server hands out: a plain HTTP proxy on 127.0.0.1
 * in front of Azurite that forwards every request unchanged (path, query, headers, body; the
 * SAS is checked by Azurite, whose signature does not cover the host) and answers the one
 * thing Azurite cannot know about managed disks itself:
 *
 * - **Get Page Ranges Diff across a 4 TiB resize.** Azure cannot diff two incremental snapshots
 *   taken before and after the disk was resized across the 4 TiB boundary ("you can't get the
 *   changes between snapshots taken before and after you changed the size of the parent disk
 *   across 4-TB boundary"). Such a request (`comp=pagelist` with `x-ms-previous-snapshot-url`)
 *   is answered 409 with the storage error `PreviousSnapshotOperationNotSupported`. Azure's
 *   documentation states the rule but not the error code it answers; this is the Blob service's
 *   code for a previous-snapshot operation it does not support, and deltavault also checks the
 *   sizes itself before it asks.
 *
 * Everything else, including Azurite's own `Server` header (deltavault detects the emulator by
 * it), comes from Azurite.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export interface DiffBoundaryRule {
  /** Disk sizes (without the VHD footer) on the two sides of this are never diffed. */
  readonly boundaryBytes: number;
  /** The disk size when the snapshot behind a blob path + snapshot time was taken, if it is one. */
  readonly diskBytesOf: (container: string, snapshot: string | undefined) => number | undefined;
}

export interface StorageProxy {
  /** `http://127.0.0.1:<port>`: replaces Azurite's origin in access URLs. */
  readonly origin: string;
  /** Diffs refused for crossing the boundary so far. */
  refusedDiffs(): number;
  close(): Promise<void>;
}

/** Container and snapshot of a path-style blob URL `/<account>/<container>/<blob>?snapshot=…`. */
function blobOf(url: URL): { container: string; snapshot?: string } | undefined {
  const [, container] = url.pathname.split('/').filter(Boolean);
  if (!container) return undefined;
  return { container: decodeURIComponent(container), snapshot: url.searchParams.get('snapshot') ?? undefined };
}

function refuse(res: ServerResponse, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(409, { 'content-type': 'application/xml', 'x-ms-error-code': code, 'content-length': String(Buffer.byteLength(body)), server: 'deltavault-arm-test-server' });
  res.end(body);
}

export async function startStorageProxy(upstreamEndpoint: string, rule: DiffBoundaryRule): Promise<StorageProxy> {
  const upstream = new URL(upstreamEndpoint);
  let refused = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', upstream.origin);
    const previous = req.headers['x-ms-previous-snapshot-url'];
    if (req.method === 'GET' && url.searchParams.get('comp') === 'pagelist' && typeof previous === 'string') {
      const current = blobOf(url);
      let prev: { container: string; snapshot?: string } | undefined;
      try {
        prev = blobOf(new URL(previous));
      } catch {
        prev = undefined;
      }
      const a = prev && rule.diskBytesOf(prev.container, prev.snapshot);
      const b = current && rule.diskBytesOf(current.container, current.snapshot);
      if (a !== undefined && b !== undefined && a <= rule.boundaryBytes !== b <= rule.boundaryBytes) {
        refused += 1;
        req.resume();
        refuse(res, 'PreviousSnapshotOperationNotSupported', 'The previous snapshot was taken before the disk was resized across 4 TiB; no diff exists between the two snapshots.');
        return;
      }
    }
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the storage proxy has no port');
  return {
    origin: `http://127.0.0.1:${address.port}`,
    refusedDiffs: () => refused,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
