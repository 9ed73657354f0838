/**
 * The control API of a supervised local cluster (`npm start`, see scripts/start.mjs): what a
 * drill run with `--existing` needs to act on nodes it did not start. JSON over HTTP, served on
 * loopback only and without a token: whoever can reach it can already signal the processes.
 *
 *   GET  /cluster                          {nodes: [{id, url, running, paused}]}
 *   GET  /nodes/:id/output?lines=N         {lines: [...]}        the tail of what the node printed
 *   POST /nodes/:id/kill  {signal?}        {exit: {code, signal}, nodes}   SIGKILL (default) or SIGTERM; answers once exited
 *   POST /nodes/:id/stop | cont | restart | isolate               {nodes}
 *   POST /heal                             {nodes}               heals every peer link
 *   GET  /links/:from/:to                  {bytesForward, bytesBackward, cut}
 *   POST /links/:from/:to/cut | heal       {bytesForward, bytesBackward, cut}
 *
 * Errors: 404 {error: 'not_found'} for an unknown node, link or route; 409 {error: 'conflict'}
 * for an action the node's state forbids (restart of a running node, stop of a stopped one).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { DrillNodeView } from './drill-cluster.js';
import type { ProcessCluster } from './process-cluster.js';

/** Bounds a request body (the largest is `{"signal":"SIGTERM"}`). */
const BODY_BYTES_MAX = 1024;
const OUTPUT_LINES_DEFAULT = 50;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

export function nodeViews(cluster: ProcessCluster): DrillNodeView[] {
  return cluster.nodes.map((n) => ({ id: n.id, url: n.url, running: n.running, paused: n.paused }));
}

export async function startControlServer(cluster: ProcessCluster, port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((req, res) => {
    handle(cluster, req)
      .then((answer) => send(res, 200, answer))
      .catch((error: unknown) => {
        if (error instanceof HttpError) send(res, error.status, { error: error.error, message: error.message });
        else send(res, 500, { error: 'internal', message: String(error) });
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) {
    text += (chunk as Buffer).toString();
    if (text.length > BODY_BYTES_MAX) throw new HttpError(413, 'too_large', `body over ${BODY_BYTES_MAX} bytes`);
  }
  if (text.trim() === '') return {};
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw new HttpError(400, 'bad_request', 'the body must be a JSON object');
}

async function handle(cluster: ProcessCluster, req: IncomingMessage): Promise<unknown> {
  const url = new URL(req.url ?? '/', 'http://control');
  const parts = url.pathname.split('/').filter((p) => p !== '').map(decodeURIComponent);
  const method = req.method ?? 'GET';
  const body = method === 'POST' ? await readBody(req) : {};
  const knownNode = (id: string): string => {
    if (!cluster.nodes.some((n) => n.id === id)) throw new HttpError(404, 'not_found', `no node ${id}`);
    return id;
  };
  // The cluster throws a plain Error for an action the node's state forbids.
  const act = async (action: () => unknown): Promise<{ nodes: DrillNodeView[] }> => {
    try {
      await action();
    } catch (error) {
      throw new HttpError(409, 'conflict', (error as Error).message);
    }
    return { nodes: nodeViews(cluster) };
  };

  if (method === 'GET' && parts.length === 1 && parts[0] === 'cluster') return { nodes: nodeViews(cluster) };
  if (method === 'POST' && parts.length === 1 && parts[0] === 'heal') return act(() => cluster.healAll());
  if (parts[0] === 'nodes' && parts.length === 3) {
    const id = knownNode(parts[1]!);
    const verb = parts[2]!;
    if (method === 'GET' && verb === 'output') {
      const lines = Number(url.searchParams.get('lines') ?? OUTPUT_LINES_DEFAULT);
      return { lines: cluster.node(id).output.slice(-Math.max(0, Math.floor(lines) || 0)) };
    }
    if (method === 'POST') {
      switch (verb) {
        case 'kill': {
          const signal = body.signal ?? 'SIGKILL';
          if (signal !== 'SIGKILL' && signal !== 'SIGTERM') throw new HttpError(400, 'bad_request', 'signal: SIGKILL or SIGTERM');
          let exit: unknown;
          const answer = await act(async () => (exit = await cluster.kill(id, signal)));
          return { exit, ...answer };
        }
        case 'stop':
          return act(() => cluster.stop(id));
        case 'cont':
          return act(() => cluster.cont(id));
        case 'restart':
          return act(() => cluster.restart(id));
        case 'isolate':
          return act(() => cluster.isolate(id));
      }
    }
  }
  if (parts[0] === 'links' && parts.length >= 3 && parts.length <= 4) {
    let link;
    try {
      link = cluster.link(parts[1]!, parts[2]!);
    } catch (error) {
      throw new HttpError(404, 'not_found', (error as Error).message);
    }
    if (parts.length === 4 && method === 'POST' && parts[3] === 'cut') link.cut();
    else if (parts.length === 4 && method === 'POST' && parts[3] === 'heal') link.heal();
    else if (!(parts.length === 3 && method === 'GET')) throw new HttpError(404, 'not_found', `no route ${method} ${url.pathname}`);
    return { bytesForward: link.bytesForward, bytesBackward: link.bytesBackward, cut: link.isCut };
  }
  throw new HttpError(404, 'not_found', `no route ${method} ${url.pathname}`);
}
