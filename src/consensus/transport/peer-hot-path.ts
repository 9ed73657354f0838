/**
 * The peer hot path (issue #6): `POST /raft/<route>` served straight from node:http's 'request'
 * event, before express, Nest's router and filter, which cost each one-way peer hop a few tenths
 * of a millisecond of CPU and latency. It answers exactly as RaftPeerController would, because it
 * runs the same checks in the same order and the same handler (PeerRpcHandler: cluster token,
 * codec, addressing, chunked InstallSnapshot through the SnapshotReceiver):
 *  - a bad or missing cluster token: 401, the handler's body, the connection closed (the body is
 *    never read), before anything else is looked at;
 *  - a declared body over peerBodyBytesMax(route): 413 `too_large`, the connection closed;
 *  - otherwise the body is read and handed to PeerRpcHandler.handle, whose answer is written as
 *    the controller writes it (200 with a reply batch, 204 empty, or SPEC's JSON error shape);
 *  - the X-Raft-* headers and the request-latency metric (labelled `/raft/:route`, as express
 *    labels the controller's route) as HttpSurface adds them to every answer.
 *
 * Everything unusual goes to the next listener (express, then the controller) unchanged, nothing
 * read: another method, a query string, a path other than `/raft/<segment>`, a route the handler
 * does not know, a node still booting, a content type other than application/octet-stream, or a
 * body without a Content-Length (chunked).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { sendApiError, toApiErrorOrInternal } from '../../http/api-exception.filter.js';
import { writeJson } from '../../http/json-answer.js';
import { setRaftHeaders } from '../../http/raft-headers.js';
import type { NodeIdentity } from '../kv-node.port.js';
import type { RequestListener } from '../../http/request-front.js';
import type { PeerRpcAnswer, PeerRpcHandler } from './peer-rpc-handler.js';

export type { RequestListener };

/** What the hot path needs of the node (RaftHostService fits as is). */
export interface PeerHotPathNode {
  /** Null while the node boots: then the controller answers (503). */
  readonly peerRpc: PeerRpcHandler | null;
  peerBodyBytesMax(route: string): number;
  identity(): NodeIdentity;
}

export interface PeerHotPathMetrics {
  observeRequestSeconds(route: string, method: string, status: number, seconds: number): void;
}

/** Counts, for tests and for judging how much peer traffic the hot path takes. */
export interface PeerHotPathCounters {
  /** `/raft/*` requests answered here. */
  served: number;
  /** `/raft/*` requests given to the next listener (express). */
  handedOff: number;
}

/** The controller's route, as express labels it in the request-latency metric. */
const PEER_ROUTE_LABEL = '/raft/:route';
const RAFT_PREFIX = '/raft/';
const OCTET_STREAM = 'application/octet-stream';

export class PeerHotPath {
  readonly counters: PeerHotPathCounters = { served: 0, handedOff: 0 };

  constructor(
    private readonly node: PeerHotPathNode,
    private readonly metrics: PeerHotPathMetrics,
    private readonly logger: { error(message: string): void },
  ) {}

  /** A listener that serves `/raft/*` here and passes every other request to `next` as it came. */
  front(next: RequestListener): RequestListener {
    return (req, res) => {
      if (this.maybeServe(req, res)) return;
      if (req.url?.startsWith(RAFT_PREFIX) === true) this.counters.handedOff++;
      next(req, res);
    };
  }

  /** false: not taken, nothing read or written. */
  private maybeServe(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url;
    if (req.method !== 'POST' || url === undefined || !url.startsWith(RAFT_PREFIX)) return false;
    const route = url.slice(RAFT_PREFIX.length);
    // `?`, `/` or `%` (a query, a deeper path, an encoded name): express decides what they mean.
    if (route.length === 0 || /[?/%]/.test(route)) return false;
    const rpc = this.node.peerRpc;
    if (rpc === null) return false;
    const startedMs = performance.now();
    const headers = req.headers;
    // Refuse before reading a byte, as the controller does: a stranger gets to upload nothing.
    if (!rpc.isAuthorized(headers.authorization)) {
      this.counters.served++;
      this.answer(res, rpc.unauthorized(), true, startedMs);
      return true;
    }
    if (!rpc.isKnownRoute(route)) return false;
    if (!(headers['content-type'] ?? '').startsWith(OCTET_STREAM)) return false;
    const contentLength = headers['content-length'];
    if (contentLength === undefined || headers['transfer-encoding'] !== undefined) return false;
    const declared = Number(contentLength);
    const bytesMax = this.node.peerBodyBytesMax(route);
    if (declared > bytesMax) {
      this.counters.served++;
      this.answer(res, { status: 413, body: { error: 'too_large', message: `body of ${declared} bytes is over the limit of ${bytesMax}` } }, true, startedMs);
      return true;
    }
    this.counters.served++;
    // Node's parser delivers exactly Content-Length bytes (a longer body would be the next request).
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      bytes += chunk.length;
    });
    req.on('end', () => {
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, bytes);
      rpc.handle(route, headers.authorization, body).then(
        (answer) => this.answer(res, answer, false, startedMs),
        (error: unknown) => {
          // As the exception filter answers whatever the controller throws.
          setRaftHeaders(res, this.node.identity());
          sendApiError(res, toApiErrorOrInternal(error, this.logger));
          this.observe(res, startedMs);
        },
      );
    });
    // A client gone mid-body: nothing to answer (node destroys the socket).
    req.on('error', () => undefined);
    return true;
  }

  private answer(res: ServerResponse, answer: PeerRpcAnswer, closeConnection: boolean, startedMs: number): void {
    // An unread request body would otherwise be parsed as the next request on this connection.
    if (closeConnection) res.setHeader('connection', 'close');
    setRaftHeaders(res, this.node.identity());
    if (answer.reply !== undefined) {
      res.writeHead(answer.status, { 'content-type': OCTET_STREAM, 'content-length': answer.reply.byteLength });
      res.end(answer.reply);
    } else if (answer.body === undefined) {
      res.statusCode = answer.status;
      res.end();
    } else {
      writeJson(res, answer.status, answer.body);
    }
    this.observe(res, startedMs);
  }

  private observe(res: ServerResponse, startedMs: number): void {
    this.metrics.observeRequestSeconds(PEER_ROUTE_LABEL, 'POST', res.statusCode, (performance.now() - startedMs) / 1000);
  }
}
