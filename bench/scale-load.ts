/**
 * The scale run's bulk loader: writes keys [from, to) once each through the contract's own PUT
 * (the API has no batch write), many requests at a time on keep-alive connections (undici Pool:
 * far less CPU per request than fetch, and the bench shares the machine with the nodes).
 * A PUT of the same value is idempotent, so a request that failed or timed out is simply sent again.
 */
import { Pool } from 'undici';
import type { Target } from './targets.js';
import { VALUE } from './workload.js';

/** Connections to the leader; requests in flight = this (no pipelining, like the other rows). */
export const LOAD_CONNECTIONS = 128;
/** An election (no_leader) or a 504 under overload is retried after a growing pause, for about a minute. */
const ATTEMPTS_MAX = 40;
const RETRY_PAUSE_MS_MAX = 2000;
const REQUEST_TIMEOUT_MS = 15_000;
const PROGRESS_EVERY_MS = 1000;

/** `scale-0000042`: fixed width, ASCII (bytes = characters), sorted like their numbers. */
export function scaleKeyName(n: number): string {
  return `scale-${String(n).padStart(7, '0')}`;
}

/** Key + value bytes of keys [0, keys): what the store holds, before any overhead. */
export function rawBytes(keys: number): number {
  let total = 0;
  for (let n = 0; n < keys; n++) total += Buffer.byteLength(scaleKeyName(n)) + Buffer.byteLength(VALUE);
  return total;
}

export interface LoadProgress {
  readonly done: number;
  readonly total: number;
  readonly keysPerSecond: number;
  readonly elapsedSeconds: number;
}

export interface BulkLoadResult {
  readonly keys: number;
  readonly seconds: number;
  readonly keysPerSecond: number;
  readonly retries: number;
}

export async function bulkLoad(
  target: Target,
  from: number,
  to: number,
  onProgress: (p: LoadProgress) => void,
): Promise<BulkLoadResult> {
  const leader = await target.leader();
  const pool = new Pool(leader.url, { connections: LOAD_CONNECTIONS, pipelining: 1, keepAliveTimeout: 60_000 });
  const startedMs = performance.now();
  let next = from;
  let done = 0;
  let retries = 0;
  let lastReport = { ms: startedMs, done: 0 };
  const report = () => {
    const now = performance.now();
    const keysPerSecond = ((done - lastReport.done) * 1000) / Math.max(1, now - lastReport.ms);
    lastReport = { ms: now, done };
    onProgress({ done, total: to - from, keysPerSecond, elapsedSeconds: (now - startedMs) / 1000 });
  };
  const timer = setInterval(report, PROGRESS_EVERY_MS);
  const put = async (key: string): Promise<void> => {
    const spec = target.request('put', key, VALUE, null)!;
    let lastError = '';
    for (let attempt = 1; attempt <= ATTEMPTS_MAX; attempt++) {
      try {
        const r = await pool.request({
          method: spec.method, path: spec.path, body: spec.body,
          headers: { 'content-type': 'application/json' },
          headersTimeout: REQUEST_TIMEOUT_MS, bodyTimeout: REQUEST_TIMEOUT_MS,
        });
        const text = await r.body.text();
        if (r.statusCode >= 200 && r.statusCode < 300) return;
        lastError = `answered ${r.statusCode} ${text}`;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
      retries++;
      // Back off, as Retry-After asks: retrying at once only adds load to a cluster electing a leader.
      await new Promise((resolve) => setTimeout(resolve, Math.min(RETRY_PAUSE_MS_MAX, 100 * attempt)));
    }
    throw new Error(`${target.name}: PUT ${key} failed ${ATTEMPTS_MAX} times, last: ${lastError}`);
  };
  const worker = async () => {
    for (let n = next++; n < to; n = next++) {
      await put(scaleKeyName(n));
      done++;
    }
  };
  try {
    await Promise.all(Array.from({ length: LOAD_CONNECTIONS }, worker));
  } finally {
    clearInterval(timer);
    await pool.close();
  }
  const seconds = (performance.now() - startedMs) / 1000;
  return { keys: done, seconds, keysPerSecond: done / seconds, retries };
}
