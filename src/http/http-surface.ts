/**
 * The express-level pieces of the client HTTP surface that must run before Nest's own
 * middleware, body parsing and routing, for every request:
 *  - the X-Raft-* headers on every answer (raft-headers.ts);
 *  - request latency by route pattern, method and status;
 *  - a JSON body parser whose limit admits the largest valid request (Nest's default limit,
 *    100 kB, would refuse a legal 1 MiB value);
 *  - no ETag (a hash of every answer, useless for a store whose values change) nor X-Powered-By.
 *
 * Installed by constructing `HttpSurface` (HttpSurfaceModule does): Nest creates providers
 * before it registers its default body parsers, so ours comes first and Nest skips its own JSON
 * parser (it does not add a parser already present). No call from main.ts is needed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { RaftConfig } from '../config/raft-config.js';
import { KvNode } from '../consensus/kv-node.port.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { onBeforeHead, setRaftHeaders } from './raft-headers.js';

/** A JSON string escapes a control character as `\u00XX`: 6 bytes for 1. */
const JSON_ESCAPE_EXPANSION = 6;
/** Room for the field names, clientId, seq and whitespace of any valid body. */
const JSON_BODY_OVERHEAD_BYTES = 64 * 1024;

/**
 * The largest JSON body a valid request may need: a cas carries two values (`expected` and
 * `value`), each at most `valueBytesMax` UTF-8 bytes, which JSON may escape up to 6x. A larger
 * body is refused by the parser with 413 too_large before it is buffered whole.
 */
export function jsonBodyBytesMax(config: Pick<RaftConfig, 'valueBytesMax' | 'keyBytesMax'>): number {
  return JSON_ESCAPE_EXPANSION * (2 * config.valueBytesMax + config.keyBytesMax) + JSON_BODY_OVERHEAD_BYTES;
}

interface RoutedRequest extends IncomingMessage {
  /** Set by express when a route matched: its pattern, a label of bounded cardinality. */
  route?: { path?: string };
}

/** The part of NestExpressApplication's adapter used here (the abstract adapter does not declare it). */
interface BodyParserAdapter {
  useBodyParser(type: 'json', rawBody: boolean, options: { limit: number }): unknown;
}

/** Route label for requests that matched no route (unknown paths, body parse errors). */
export const UNMATCHED_ROUTE = 'unmatched';

@Injectable()
export class HttpSurface {
  private readonly logger = new Logger('HttpSurface');

  constructor(adapterHost: HttpAdapterHost, config: RaftConfig, node: KvNode, metrics: MetricsService) {
    const adapter = adapterHost.httpAdapter;
    if (adapter === undefined) {
      // An application context without HTTP (a CLI, a test of another module): nothing to install.
      return;
    }
    const identity = () => node.identity();
    adapter.use(function raftSurface(req: RoutedRequest, res: ServerResponse, next: () => void) {
      const startedNs = process.hrtime.bigint();
      onBeforeHead(res, (r) => setRaftHeaders(r, identity()));
      res.once('finish', () => {
        const seconds = Number(process.hrtime.bigint() - startedNs) / 1e9;
        metrics.observeRequestSeconds(routeLabel(req), req.method ?? 'GET', res.statusCode, seconds);
      });
      next();
    });
    // Express would hash every JSON answer (a SHA-1 of up to a whole value) for a weak ETag that
    // no client of a changing store can use; and it advertises itself. Neither is wanted.
    const express = adapter.getInstance() as { disable?: (setting: string) => unknown };
    express.disable?.('etag');
    express.disable?.('x-powered-by');
    const limit = jsonBodyBytesMax(config);
    const parsers = adapter as unknown as Partial<BodyParserAdapter>;
    if (typeof parsers.useBodyParser !== 'function') throw new Error('the HTTP adapter cannot configure body parsers: use @nestjs/platform-express');
    parsers.useBodyParser('json', false, { limit });
    this.logger.log(`event=http_surface_installed json_body_bytes_max=${limit}`);
  }
}

function routeLabel(req: RoutedRequest): string {
  const path = req.route?.path;
  if (typeof path !== 'string') return UNMATCHED_ROUTE;
  // Controllers under a prefix (`/kv` + `:key`) leave the full pattern in baseUrl + route.path.
  const base = (req as RoutedRequest & { baseUrl?: string }).baseUrl ?? '';
  return base + path;
}
