/**
 * When to try again: exponential backoff with jitter, never sooner than a server's
 * `Retry-After`, never past the caller's retry budget. Pure functions: the clock and the
 * random source are the client's injected ones, so tests drive them.
 */

/** First backoff step; doubles per step. */
export const BACKOFF_BASE_MS = 50;
/** A backoff step never exceeds this (an election takes 300-500 ms; a few steps cover one). */
export const BACKOFF_CAP_MS = 2000;
/** A `Retry-After` above this is read as this: a typo on the server must not park a client for hours. */
export const RETRY_AFTER_MS_MAX = 30_000;

/**
 * Backoff before retry number `step` (0 for the first retry), with "equal jitter": half of the
 * exponential delay is fixed, half random, so clients that failed together spread out while
 * each still waits at least half the step. `random` returns a number in [0, 1).
 */
export function backoffMs(step: number, random: () => number): number {
  const exponentialMs = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(step, 30));
  const halfMs = exponentialMs / 2;
  return Math.round(halfMs + random() * halfMs);
}

/**
 * A `Retry-After` header in milliseconds: delta-seconds ("2") or an HTTP-date (RFC 9110 10.2.3).
 * Null when absent or unreadable. `wallNowMs` is the wall clock, only used for the date form.
 */
export function parseRetryAfterMs(header: string | null, wallNowMs: number): number | null {
  if (header === null) return null;
  const text = header.trim();
  if (text === '') return null;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.min(RETRY_AFTER_MS_MAX, Math.round(Number(text) * 1000));
  const dateMs = Date.parse(text);
  if (Number.isNaN(dateMs)) return null;
  return Math.min(RETRY_AFTER_MS_MAX, Math.max(0, dateMs - wallNowMs));
}
