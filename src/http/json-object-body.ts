/**
 * Reads a JSON object body for the client hot path, as express's JSON parser (body-parser)
 * would, or gives the request back to express untouched.
 *
 * The caller has already checked what body-parser checks before reading (a JSON content type
 * with a UTF-8 charset, no content encoding, a Content-Length within the limit). This reads the
 * first chunk and continues only if the body starts with `{`: then there is no BOM to strip and
 * no whitespace or non-object to treat specially, so `JSON.parse(bytes as UTF-8)` is exactly what
 * body-parser computes, error message included. Any other body is pushed back (`unshift`) before
 * the stream ends, and `handoff` lets express read it from the start as if nothing had happened.
 */
import { Buffer } from 'node:buffer';
import type { IncomingMessage } from 'node:http';

const OPEN_BRACE = 0x7b;

export type JsonBodyOutcome =
  | { readonly kind: 'object'; readonly value: Record<string, unknown> }
  /** Not valid JSON; `message` is JSON.parse's, for SPEC 2's 400 `body: malformed JSON (...)`. */
  | { readonly kind: 'malformed'; readonly message: string }
  /** Not a body this reader takes: the stream is as it arrived, for express to read. */
  | { readonly kind: 'handoff' }
  /** The client went away or the stream failed before the body was whole: nothing to answer. */
  | { readonly kind: 'aborted' };

/** Calls `done` exactly once. Never throws. */
export function readJsonObjectBody(req: IncomingMessage, done: (outcome: JsonBodyOutcome) => void): void {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let settled = false;
  const settle = (outcome: JsonBodyOutcome) => {
    if (settled) return;
    settled = true;
    req.removeListener('readable', onReadable);
    req.removeListener('end', onEnd);
    req.removeListener('error', onAborted);
    req.removeListener('close', onAborted);
    done(outcome);
  };
  const onReadable = () => {
    let chunk: Buffer | null;
    while (!settled && (chunk = req.read() as Buffer | null) !== null) {
      if (bytes === 0 && chunk.length > 0 && chunk[0] !== OPEN_BRACE) {
        // Back in front of the stream before 'end' can be emitted (node checks for such a last
        // unshift), so express sees the whole body.
        req.unshift(chunk);
        settle({ kind: 'handoff' });
        return;
      }
      chunks.push(chunk);
      bytes += chunk.length;
    }
  };
  const onEnd = () => {
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes);
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8'));
    } catch (error) {
      settle({ kind: 'malformed', message: error instanceof Error ? error.message : String(error) });
      return;
    }
    // A body that starts with `{` and parses is an object.
    settle({ kind: 'object', value: value as Record<string, unknown> });
  };
  const onAborted = () => settle({ kind: 'aborted' });
  req.on('readable', onReadable);
  req.on('end', onEnd);
  req.on('error', onAborted);
  req.on('close', onAborted);
}
