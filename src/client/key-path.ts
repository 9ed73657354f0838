/**
 * Keys travel percent-encoded in the URL path (SPEC 2). `encodeURIComponent` encodes every
 * byte that could change the path's meaning ("/", "?", "#", "%", space) and encodes non-ASCII
 * as UTF-8, which is what the server decodes.
 *
 * Two keys cannot be sent at all: "." and "..". The WHATWG URL parser (the one fetch uses)
 * treats a path segment "..", ".%2e", "%2e%2e" (any case) as a dot segment and removes it, so
 * `/kv/..` becomes `/` before it leaves the process. They are refused here with a clear message
 * instead of silently reaching another route.
 */
import { Buffer } from 'node:buffer';

/** SPEC 2: keys are at most 1024 bytes of UTF-8. */
export const KEY_BYTES_MAX = 1024;

const DOT_SEGMENTS = new Set(['.', '..']);
/** A lone surrogate has no UTF-8 form: the server would see U+FFFD, another key. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `key` cannot be sent, or null when it can. */
export function keyProblem(key: string): string | null {
  if (key.length === 0) return 'key must not be empty';
  if (DOT_SEGMENTS.has(key)) return `key ${JSON.stringify(key)} cannot be addressed in a URL path (it is a dot segment)`;
  if (LONE_SURROGATE.test(key)) return 'key must be valid UTF-8 (it has a lone surrogate)';
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > KEY_BYTES_MAX) return `key is ${bytes} bytes, over the limit of ${KEY_BYTES_MAX}`;
  return null;
}

/** Why a value (or prefix) cannot be sent, or null. Sizes are the server's to judge. */
export function textProblem(field: string, text: string): string | null {
  return LONE_SURROGATE.test(text) ? `${field} must be valid UTF-8 (it has a lone surrogate)` : null;
}

/** `/kv/{key}` with the key percent-encoded; the caller has checked keyProblem(key) === null. */
export function keyPath(key: string, suffix = ''): string {
  return `/kv/${encodeURIComponent(key)}${suffix}`;
}
