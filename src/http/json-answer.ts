/**
 * Writes a JSON answer on a plain node:http response, as express's `res.json` does (same
 * Content-Type; node sets Content-Length for a body given to `end`). Used by the controller, the
 * exception filter and the client hot path alike, so their answers cannot drift apart.
 */
import type { ServerResponse } from 'node:http';

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

export function writeJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('Content-Type', JSON_CONTENT_TYPE);
  res.end(JSON.stringify(body));
}
