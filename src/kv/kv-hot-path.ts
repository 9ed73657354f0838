/**
 * The client hot path (issue #6): the common /kv requests are served straight from node:http's
 * 'request' event, before express, Nest's router, pipes and filter, which cost most of a
 * leader's CPU per request. It answers exactly as the Nest route would, because it does not
 * re-implement any rule:
 *  - what a route does is kv-requests.ts, the code the controller runs;
 *  - bodies are validated by the DTOs' own class-validator decorators (dto-check.ts), and the
 *    limits by command-validation.ts, through KvRequests;
 *  - errors go through the exception filter's classification and writer;
 *  - X-Raft-* headers (raft-headers.ts) are set when the answer is written, and the request
 *    latency is observed with the route pattern express would have given.
 *
 * Everything it does not recognise with certainty goes to express unchanged: other paths and
 * methods, query strings other than `consistency=...` on a read, unusual headers (a body on a
 * GET, a non-JSON or non-UTF-8 content type, a content encoding, chunked or empty bodies, a body
 * over the parser limit), a body that does not start with `{` (pushed back unread), a key that
 * is not valid percent-encoding, and any body the DTO check does not accept: that one arrives at
 * express already parsed (body-parser skips a consumed request and keeps `req.body`), so the
 * ValidationPipe gives its exact 400.
 *
 * Installed on the HTTP server at bootstrap (no call from main.ts); the peer-port listener, if
 * any, keeps serving express directly.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { RaftConfig } from '../config/raft-config.js';
import { KvNode } from '../consensus/kv-node.port.js';
import { ApiError } from '../http/api-error.js';
import { malformedJsonMessage, sendApiError, toApiErrorOrInternal } from '../http/api-exception.filter.js';
import { compileDtoCheck } from '../http/dto-check.js';
import { UNMATCHED_ROUTE, jsonBodyBytesMax } from '../http/http-surface.js';
import { writeJson } from '../http/json-answer.js';
import { readJsonObjectBody } from '../http/json-object-body.js';
import { setRaftHeaders } from '../http/raft-headers.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { KvRequests, RELAYED, writeRequestOf, type Relayed, type WriteBody, type WriteRoute } from './kv-requests.js';
import { CasBodyDto, type Consistency, DeleteBodyDto, ReadQueryDto, ValueBodyDto } from './kv.dto.js';
import { installRequestFront, type RemoveFront, type RequestListener } from '../http/request-front.js';


/** Route patterns as express labels them in the request-latency metric. */
const KEY_ROUTE = '/kv/:key';
const APPEND_ROUTE = '/kv/:key/append';
const CAS_ROUTE = '/kv/:key/cas';

const KV_PREFIX = '/kv/';
const CONSISTENCY_QUERY = 'consistency=';
/** Content types body-parser reads as UTF-8 JSON; others (and their odd spellings) go to express. */
const JSON_CONTENT_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);



/** Counts, for tests and for judging how much traffic the hot path takes. */
export interface HotPathCounters {
  /** Requests answered here. */
  served: number;
  /** Requests given to express: not recognised, or a body the DTO check did not accept. */
  handedOff: number;
}

@Injectable()
export class KvHotPath implements OnApplicationBootstrap {
  private readonly logger = new Logger('KvHotPath');
  readonly counters: HotPathCounters = { served: 0, handedOff: 0 };
  private readonly bodyBytesMax: number;
  private readonly checkValueBody = compileDtoCheck(ValueBodyDto);
  private readonly checkCasBody = compileDtoCheck(CasBodyDto);
  private readonly checkDeleteBody = compileDtoCheck(DeleteBodyDto);
  private readonly checkReadQuery = compileDtoCheck(ReadQueryDto);
  private removeFront: RemoveFront | null = null;

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly node: KvNode,
    private readonly requests: KvRequests,
    private readonly metrics: MetricsService,
    config: RaftConfig,
  ) {
    this.bodyBytesMax = jsonBodyBytesMax(config);
  }

  /** Nest has created the HTTP server by now (not yet when providers are constructed). */
  onApplicationBootstrap(): void {
    const installed = installRequestFront(this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined, (express) => (req, res) => {
      if (!this.maybeServe(req, res, express)) {
        this.counters.handedOff++;
        express(req, res);
      }
    });
    if (installed === null) return;
    if ('reason' in installed) {
      this.logger.warn(`event=hot_path_not_installed reason="${installed.reason}"`);
      return;
    }
    this.removeFront = installed.remove;
    this.logger.log('event=hot_path_installed routes="GET|PUT|DELETE /kv/:key, POST /kv/:key/append|cas"');
  }

  /** Gives every request to express again (to compare the two paths in tests). */
  uninstall(): void {
    this.removeFront?.();
    this.removeFront = null;
  }

  /** false: not taken, nothing read or written; the caller hands the request to express. */
  private maybeServe(req: IncomingMessage, res: ServerResponse, express: RequestListener): boolean {
    const url = req.url;
    if (url === undefined || !url.startsWith(KV_PREFIX)) return false;
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    const suffixAt = path.indexOf('/', KV_PREFIX.length);
    const segment = path.slice(KV_PREFIX.length, suffixAt === -1 ? path.length : suffixAt);
    const suffix = suffixAt === -1 ? '' : path.slice(suffixAt);
    if (segment.length === 0) return false;
    const method = req.method;
    let route: WriteRoute;
    if (suffix === '') {
      if (method === 'GET') return this.maybeServeGet(req, res, segment, queryAt === -1 ? '' : url.slice(queryAt + 1));
      if (method === 'PUT') route = 'put';
      else if (method === 'DELETE') route = 'delete';
      else return false;
    } else if (method === 'POST' && suffix === '/append') route = 'append';
    else if (method === 'POST' && suffix === '/cas') route = 'cas';
    else return false;

    const key = decodeKey(segment);
    if (key === null) return false;
    const headers = req.headers;
    const contentLength = headers['content-length'];
    const hasBody = contentLength !== undefined || headers['transfer-encoding'] !== undefined;
    if (!hasBody) {
      // body-parser leaves the body undefined; only DELETE takes that as "no clientId/seq".
      if (route !== 'delete') return false;
      this.serveWrite(req, res, route, key, {}, performance.now());
      return true;
    }
    if (
      headers['transfer-encoding'] !== undefined ||
      headers['content-encoding'] !== undefined ||
      !JSON_CONTENT_TYPES.has(headers['content-type']?.toLowerCase() ?? '')
    ) {
      return false;
    }
    const length = Number(contentLength);
    if (!(length > 0 && length <= this.bodyBytesMax)) return false;

    const startedMs = performance.now();
    readJsonObjectBody(req, (outcome) => {
      switch (outcome.kind) {
        case 'handoff':
          this.counters.handedOff++;
          express(req, res);
          return;
        case 'aborted':
          return;
        case 'malformed':
          // As express would label it: the parser fails before any route matches.
          this.counters.served++;
          this.fail(res, ApiError.badRequest(malformedJsonMessage(outcome.message)), UNMATCHED_ROUTE, method, startedMs);
          return;
        case 'object':
          if (!this.bodyCheck(route)(outcome.value)) {
            // The pipe decides, with its own message; body-parser keeps a consumed request's body.
            (req as IncomingMessage & { body?: unknown }).body = outcome.value;
            this.counters.handedOff++;
            express(req, res);
            return;
          }
          this.serveWrite(req, res, route, key, outcome.value as WriteBody, startedMs);
      }
    });
    return true;
  }

  private maybeServeGet(req: IncomingMessage, res: ServerResponse, segment: string, query: string): boolean {
    // A GET with a body would go through the JSON parser (and may fail there): leave it to express.
    if (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined) return false;
    let consistency: Consistency | undefined;
    if (query.length > 0) {
      if (!query.startsWith(CONSISTENCY_QUERY)) return false;
      const value = query.slice(CONSISTENCY_QUERY.length);
      if (!this.checkReadQuery({ consistency: value })) return false;
      consistency = value as Consistency;
    }
    const key = decodeKey(segment);
    if (key === null) return false;
    const startedMs = performance.now();
    this.counters.served++;
    this.requests.get(req, res, key, consistency).then(
      (answer) => this.succeed(res, answer, KEY_ROUTE, 'GET', startedMs),
      (error: unknown) => this.fail(res, toApiErrorOrInternal(error, this.logger), KEY_ROUTE, 'GET', startedMs),
    );
    return true;
  }

  private serveWrite(req: IncomingMessage, res: ServerResponse, route: WriteRoute, key: string, body: WriteBody, startedMs: number): void {
    this.counters.served++;
    const command = writeRequestOf(route, key, body);
    const label = route === 'append' ? APPEND_ROUTE : route === 'cas' ? CAS_ROUTE : KEY_ROUTE;
    const method = req.method ?? 'GET';
    // Kept for forwarding, which re-sends the parsed body to the leader.
    (req as IncomingMessage & { body?: unknown }).body = route === 'delete' && req.headers['content-length'] === undefined ? undefined : body;
    this.requests.write(req, res, command).then(
      (answer) => this.succeed(res, answer, label, method, startedMs),
      (error: unknown) => this.fail(res, toApiErrorOrInternal(error, this.logger), label, method, startedMs),
    );
  }

  private bodyCheck(route: WriteRoute): (plain: Readonly<Record<string, unknown>>) => boolean {
    if (route === 'cas') return this.checkCasBody;
    if (route === 'delete') return this.checkDeleteBody;
    return this.checkValueBody;
  }

  private succeed(res: ServerResponse, answer: object | Relayed, route: string, method: string, startedMs: number): void {
    if (answer !== RELAYED) {
      setRaftHeaders(res, this.node.identity());
      writeJson(res, 200, answer);
    }
    this.observe(res, route, method, startedMs);
  }

  private fail(res: ServerResponse, error: ApiError, route: string, method: string, startedMs: number): void {
    setRaftHeaders(res, this.node.identity());
    sendApiError(res, error);
    this.observe(res, route, method, startedMs);
  }

  /** Latency up to handing the answer to the socket: one clock read, no listener per request. */
  private observe(res: ServerResponse, route: string, method: string, startedMs: number): void {
    this.metrics.observeRequestSeconds(route, method, res.statusCode, (performance.now() - startedMs) / 1000);
  }
}

/** As express decodes a route parameter; null where it would answer 400 (left to it). */
function decodeKey(segment: string): string | null {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
