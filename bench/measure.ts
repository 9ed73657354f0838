/**
 * One row against one system: warm-up (discarded), then the measured run, with each member's CPU
 * (from /proc) and, for raft-kv, its metrics read before and after the measured run only.
 */
import { runLoad, type LoadResult } from './load.js';
import { appendEntriesFigures, diffCounters, type NodeCounters } from './prom.js';
import { jsonHeaders, type Target } from './targets.js';
import { KEY_COUNT, PRELOAD_CONNECTIONS, VALUE, keyName, randomKeys, type Row } from './workload.js';

const PRELOAD_ATTEMPTS = 3;
const PRELOAD_REQUEST_TIMEOUT_MS = 10_000;

export interface MemberCpu {
  readonly name: string;
  readonly leader: boolean;
  /** Percent of one core over the measured run. */
  readonly percent: number;
}

export interface RowResult {
  readonly row: string;
  readonly target: string;
  readonly skipped?: string;
  readonly load?: LoadResult;
  readonly cpu?: readonly MemberCpu[];
  readonly generatorCpuPercent?: number;
  /** Group commit on the leader and (averaged) on the followers; null where no fsync happened. */
  readonly entriesPerFsyncLeader?: number | null;
  readonly entriesPerFsyncFollowers?: number | null;
  /** Entries the followers appended per peer POST they received (heartbeat POSTs included). */
  readonly entriesPerAppendPost?: number | null;
  /** Exact, from raft_append_entries_* on the followers; and peer requests per entry per follower. */
  readonly entriesPerAppend?: number | null;
  readonly postsPerEntry?: number | null;
  readonly leaderChanged?: boolean;
}

export interface Progress {
  (line: string, final: boolean): void;
}

/** raft-kv's metrics, if the target has them. */
export interface CounterSource {
  counters(): Promise<NodeCounters[]>;
}

/**
 * Writes every key once (fetch on keep-alive connections, PRELOAD_CONNECTIONS at a time): a plain
 * loop rather than the load generator, which may build requests it never sends when it stops at a
 * request count, so some keys would be skipped and the read rows would meet 404s.
 */
export async function preload(target: Target, progress: Progress): Promise<{ keys: number; seconds: number }> {
  const leader = await target.leader();
  const startedMs = performance.now();
  let nextKey = 0;
  let done = 0;
  const worker = async () => {
    for (let n = nextKey++; n < KEY_COUNT; n = nextKey++) {
      await putWithRetries(target, leader.url, keyName(n));
      if (++done % 1000 === 0) progress(`  ${target.name}: preloading ${done}/${KEY_COUNT} keys`, false);
    }
  };
  await Promise.all(Array.from({ length: PRELOAD_CONNECTIONS }, worker));
  const seconds = (performance.now() - startedMs) / 1000;
  progress(`  ${target.name}: preloaded ${done} keys in ${seconds.toFixed(1)} s`, true);
  return { keys: done, seconds };
}

/** A preload PUT (idempotent: same key, same value), retried when it times out or fails. */
async function putWithRetries(target: Target, url: string, key: string): Promise<void> {
  const spec = target.request('put', key, VALUE, null)!;
  let lastError: unknown = null;
  for (let attempt = 1; attempt <= PRELOAD_ATTEMPTS; attempt++) {
    try {
      const r = await fetch(url + spec.path, {
        method: spec.method, headers: jsonHeaders(), body: spec.body, signal: AbortSignal.timeout(PRELOAD_REQUEST_TIMEOUT_MS),
      });
      const text = await r.text();
      if (r.ok) return;
      lastError = new Error(`answered ${r.status} ${text}`);
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`${target.name}: preloading ${key} failed ${PRELOAD_ATTEMPTS} times, last: ${String(lastError)}`);
}

export async function measureRow(
  target: Target,
  counterSource: CounterSource | null,
  row: Row,
  rowIndex: number,
  seconds: { row: number; warmup: number },
  progress: Progress,
): Promise<RowResult> {
  const probe = target.request(row.op, keyName(0), VALUE, row.sessions ? { clientId: 'probe', seq: 1 } : null);
  if (probe === null) {
    progress(`  ${row.name} [${target.name}]: skipped (no such operation)`, true);
    return { row: row.name, target: target.name, skipped: `${target.name} has no ${row.op}` };
  }
  const leader = await target.leader();
  const nextKey = randomKeys(rowIndex + 1);
  const next = (session: { clientId: string; seq: number }) =>
    target.request(row.op, keyName(nextKey()), VALUE, row.sessions ? session : null)!;
  const label = `  ${row.name} [${target.name}]`;

  await runLoad({
    url: leader.url, connections: row.connections, seconds: seconds.warmup, next,
    onTick: (_, s) => progress(`${label}: warm-up ${s}/${seconds.warmup} s`, false),
  });

  const cpuBefore = target.members.map((m) => m.process.cpuSeconds());
  const countersBefore = counterSource === null ? null : await counterSource.counters();
  const startedMs = performance.now();
  const load = await runLoad({
    url: leader.url, connections: row.connections, seconds: seconds.row, next,
    onTick: (responses, s) => progress(`${label}: ${s}/${seconds.row} s, ${responses} answers`, false),
  });
  const elapsedSeconds = (performance.now() - startedMs) / 1000;
  const cpuAfter = target.members.map((m) => m.process.cpuSeconds());
  const countersAfter = counterSource === null ? null : await counterSource.counters();
  const leaderAfter = await target.leader();

  const cpu = target.members.map((m, i): MemberCpu => ({
    name: m.name,
    leader: m.name === leader.name,
    percent: (100 * (cpuAfter[i]! - cpuBefore[i]!)) / elapsedSeconds,
  }));
  const result: RowResult = {
    row: row.name,
    target: target.name,
    load,
    cpu,
    generatorCpuPercent: (100 * load.generatorCpuSeconds) / elapsedSeconds,
    leaderChanged: leaderAfter.name !== leader.name,
    ...(countersBefore !== null && countersAfter !== null ? groupingFigures(target, leader.name, countersBefore, countersAfter) : {}),
  };
  progress(`${label}: ${load.requestsPerSecond.toFixed(0)} req/s, p50 ${load.latencyMs.p50.toFixed(2)} ms, p99 ${load.latencyMs.p99.toFixed(2)} ms, ${load.errors} errors`, true);
  return result;
}

function groupingFigures(target: Target, leaderName: string, before: readonly NodeCounters[], after: readonly NodeCounters[]) {
  const deltas = after.map((a, i) => diffCounters(before[i]!, a));
  const ratio = (num: number, den: number) => (den > 0 && num > 0 ? num / den : null);
  const leaderAt = target.members.findIndex((m) => m.name === leaderName);
  const followers = deltas.filter((_, i) => i !== leaderAt);
  const sum = (xs: readonly NodeCounters[], f: (c: NodeCounters) => number) => xs.reduce((s, c) => s + f(c), 0);
  return {
    entriesPerFsyncLeader: ratio(deltas[leaderAt]!.fsyncEntries, deltas[leaderAt]!.fsyncs),
    entriesPerFsyncFollowers: ratio(sum(followers, (c) => c.fsyncEntries), sum(followers, (c) => c.fsyncs)),
    entriesPerAppendPost: ratio(sum(followers, (c) => c.lastLogIndex), sum(followers, (c) => c.peerPosts)),
    ...appendEntriesFigures(followers),
  };
}
