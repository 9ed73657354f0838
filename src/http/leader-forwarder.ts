/**
 * SPEC 2: "A follower forwards a request to the leader and relays the answer." On
 * NotLeaderError the controller hands the request here; it is re-sent to the leader's client
 * URL over a keep-alive connection and the leader's status, headers and body are streamed back.
 *
 * Invariants:
 *  - A request is forwarded at most once: the copy carries `X-Raft-Forwarded-By`, and a node
 *    that receives such a copy and does not lead answers 503 instead of forwarding again (two
 *    nodes with stale views of each other as leader would otherwise bounce it forever).
 *  - 503 (which SPEC 2 defines as "the write was NOT applied") is answered only when the
 *    request cannot have reached the leader. Once it may have, a write that gets no answer is
 *    504 timeout, outcome unknown.
 *  - A request is re-sent only when that cannot apply a write twice: a GET, or a write carrying
 *    clientId+seq (the state machine dedups it), and only after a reused keep-alive socket was
 *    reset before any answer (the leader closed it while idle, node's documented race).
 *  - Bounded: at most `FORWARDS_INFLIGHT_MAX` forwards at once (503 beyond), each at most
 *    the request timeout plus a margin.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import { Buffer } from 'node:buffer';
import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { RaftConfig } from '../config/raft-config.js';
import { KvNode, type NotLeaderError } from '../consensus/kv-node.port.js';
import { ApiError } from './api-error.js';
import { setRaftHeaders } from './raft-headers.js';

/**
 * A client request as the forwarder needs it: express's (which keeps the URL it arrived with in
 * `originalUrl`) or a plain node:http one, with its parsed JSON body if it had one.
 */
export interface ForwardableRequest extends http.IncomingMessage {
  readonly originalUrl?: string;
  readonly body?: unknown;
}

/** Request header marking a forwarded copy; its value is the id of the node that forwarded it. */
export const FORWARDED_BY_HEADER = 'x-raft-forwarded-by';

/** Past this many forwards in flight, new ones answer 503 rather than queue without bound. */
export const FORWARDS_INFLIGHT_MAX = 1024;
/** Sockets kept open to the leader: enough for a loaded follower, bounded. */
const SOCKETS_PER_LEADER_MAX = 256;
/** The leader answers 504 itself after requestTimeoutMs; wait a little longer for that answer. */
const FORWARD_MARGIN_MS = 1000;

/** Connection-level headers of the hop to the leader, never relayed (RFC 9110 7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authenticate', 'proxy-authorization', 'date']);
/** Client request headers worth passing on to the leader. */
const PASSED_REQUEST_HEADERS = ['authorization', 'accept', 'user-agent'] as const;

type Attempt =
  | { readonly kind: 'answered' }
  /** The request never left this node (refused, unresolvable, no route). */
  | { readonly kind: 'not-sent'; readonly reason: string }
  /** The leader may have received it: no answer, or a broken one. */
  | { readonly kind: 'maybe-sent'; readonly reason: string; readonly retryable: boolean };

@Injectable()
export class LeaderForwarder implements OnModuleDestroy {
  private readonly logger = new Logger('LeaderForwarder');
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: SOCKETS_PER_LEADER_MAX });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: SOCKETS_PER_LEADER_MAX });
  private inflight = 0;

  constructor(
    private readonly config: RaftConfig,
    private readonly node: KvNode,
  ) {}

  onModuleDestroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /**
   * Answers `req` through `res` with the leader's answer, or throws an ApiError: 503 no_leader
   * when no leader can be reached (nothing applied), 504 timeout when a write may have been.
   */
  async relay(req: ForwardableRequest, res: http.ServerResponse, notLeader: NotLeaderError): Promise<void> {
    const leaderId = notLeader.leaderId;
    const forwardedBy = req.headers[FORWARDED_BY_HEADER];
    if (forwardedBy !== undefined) {
      throw ApiError.noLeader(
        `forwarded here by ${String(forwardedBy)}, but this node does not lead either (leader: ${leaderId ?? 'unknown'}); retry shortly`,
        leaderId,
      );
    }
    if (leaderId === null) throw ApiError.noLeader('no leader is known; retry shortly', null);
    const leaderUrl = notLeader.leaderUrl ?? this.node.memberUrl(leaderId);
    if (leaderUrl === null) throw ApiError.noLeader(`the leader ${leaderId} has no known client URL`, leaderId);
    if (this.inflight >= FORWARDS_INFLIGHT_MAX) {
      throw ApiError.unavailable(`too many requests being forwarded to the leader ${leaderId}; retry shortly`);
    }

    const target = new URL(leaderUrl.replace(/\/+$/, '') + (req.originalUrl ?? req.url ?? '/'));
    const body = requestBody(req);
    const resendable = req.method === 'GET' || req.method === 'HEAD' || carriesClientSequence(req.body);
    const isWrite = req.method !== 'GET' && req.method !== 'HEAD';
    this.inflight++;
    try {
      let attempt = await this.send(target, req, res, body);
      let maybeDelivered = attempt.kind === 'maybe-sent';
      if (attempt.kind === 'maybe-sent' && attempt.retryable && resendable) {
        attempt = await this.send(target, req, res, body);
        maybeDelivered ||= attempt.kind === 'maybe-sent';
      }
      if (attempt.kind === 'answered') return;
      this.logger.warn(`event=forward_failed leader=${leaderId} url=${target.origin} reason=${JSON.stringify(attempt.reason)}`);
      if (isWrite && maybeDelivered) {
        throw ApiError.timeout(
          `forwarded to the leader ${leaderId}, which gave no answer (${attempt.reason}): the outcome is unknown; retry with the same clientId and seq`,
          leaderId,
        );
      }
      throw ApiError.noLeader(`the leader ${leaderId} cannot be reached (${attempt.reason}); retry shortly`, leaderId);
    } finally {
      this.inflight--;
    }
  }

  private send(target: URL, req: ForwardableRequest, res: http.ServerResponse, body: Buffer | null): Promise<Attempt> {
    const headers: http.OutgoingHttpHeaders = { [FORWARDED_BY_HEADER]: this.config.id };
    for (const name of PASSED_REQUEST_HEADERS) {
      const value = req.headers[name];
      if (value !== undefined) headers[name] = value;
    }
    if (body !== null) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = body.length;
    }
    const secure = target.protocol === 'https:';
    const client = secure ? https : http;
    const deadlineMs = this.config.requestTimeoutMs + FORWARD_MARGIN_MS;

    return new Promise<Attempt>((resolve) => {
      let settled = false;
      const settle = (attempt: Attempt) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        resolve(attempt);
      };
      let connected = false;
      const upstream = client.request(target, {
        method: req.method,
        headers,
        agent: secure ? this.httpsAgent : this.httpAgent,
      });
      const deadline = setTimeout(() => upstream.destroy(new Error(`no answer within ${deadlineMs} ms`)), deadlineMs);
      upstream.on('socket', (socket) => {
        if (!socket.connecting) connected = true;
        else socket.once('connect', () => (connected = true));
      });
      upstream.on('response', (answer) => {
        res.statusCode = answer.statusCode ?? 502;
        for (const [name, value] of Object.entries(answer.headers)) {
          if (value !== undefined && !HOP_BY_HOP.has(name)) res.setHeader(name, value);
        }
        // The leader's X-Raft-* headers name the node that answered; a peer that sent none
        // gets ours (a no-op when they are there), whoever calls the forwarder.
        setRaftHeaders(res, this.node.identity());
        answer.on('error', () => res.destroy());
        answer.on('end', () => settle({ kind: 'answered' }));
        // A client that went away: stop reading the leader's answer too.
        res.on('close', () => {
          if (!answer.complete) answer.destroy();
          settle({ kind: 'answered' });
        });
        answer.pipe(res);
      });
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        const reason = error.code ?? error.message;
        if (!connected) {
          settle({ kind: 'not-sent', reason });
          return;
        }
        const reset = error.code === 'ECONNRESET' || error.code === 'EPIPE';
        settle({ kind: 'maybe-sent', reason, retryable: reset && upstream.reusedSocket });
      });
      upstream.end(body ?? undefined);
    });
  }
}

/** The parsed JSON body, re-encoded for the leader (null: the request had none). */
function requestBody(req: ForwardableRequest): Buffer | null {
  const body: unknown = req.body;
  if (body === undefined || body === null) return null;
  if (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0 && req.headers['content-length'] === undefined) {
    return null;
  }
  return Buffer.from(JSON.stringify(body), 'utf8');
}

function carriesClientSequence(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const { clientId, seq } = body as { clientId?: unknown; seq?: unknown };
  return typeof clientId === 'string' && typeof seq === 'number';
}
