/**
 * Plain HTTP calls on a node's API for the drills, answering status, headers and parsed JSON
 * (a failure to connect throws; every status is an answer).
 */

const REQUEST_TIMEOUT_MS_DEFAULT = 10_000;

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

export interface RequestInit {
  readonly method?: string;
  readonly body?: unknown;
  /** Sent as is instead of `body` (e.g. malformed JSON). */
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
  readonly timeoutMs?: number;
}

export async function request(url: string, init: RequestInit = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  const body = init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const r = await fetch(url, { method: init.method ?? 'GET', headers, body, signal: AbortSignal.timeout(init.timeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT) });
  const text = await r.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: r.status, headers: r.headers, body: parsed };
}

export const kvUrl = (nodeUrl: string, key: string): string => `${nodeUrl}/kv/${encodeURIComponent(key)}`;

export interface KeyValue {
  readonly key: string;
  readonly value: string;
}

/**
 * Every key under `prefix` in one node's own state (`consistency=stale`: no leader involved),
 * as a Map. Throws unless the node answers 200, or when the listing may have been cut short.
 */
export async function staleListing(nodeUrl: string, prefix: string, limit: number): Promise<Map<string, string>> {
  const r = await request(`${nodeUrl}/kv?prefix=${encodeURIComponent(prefix)}&limit=${limit}&consistency=stale`);
  if (r.status !== 200) throw new Error(`GET /kv?prefix=${prefix} on ${nodeUrl} answered ${r.status}: ${JSON.stringify(r.body)}`);
  const items = r.body.items as KeyValue[];
  if (items.length >= limit) throw new Error(`the listing of ${prefix} on ${nodeUrl} reached the limit ${limit}; raise it`);
  return new Map(items.map((i) => [i.key, i.value]));
}
