/**
 * pause-leader: SIGSTOP the leader for several election timeouts (a long GC pause, a stalled
 * VM) while clients keep writing. The others elect a new leader in a higher term, which then
 * changes a probe key. Then the old leader is continued and raced: a linearizable read of the
 * probe key and a write are sent to it while it is still stopped (they wait in its socket
 * backlog, so it finds them the instant it resumes, beside any message of the new term), and
 * again right after SIGCONT. It still believes it leads the old term, so:
 *   - a read must not return the value from before the pause (nor "absent"): ReadIndex must
 *     confirm leadership with a quorum first (Raft 8), which it can no longer get;
 *   - a write it acknowledges must carry a newer term than the old one (X-Raft-Term) and be in
 *     the final state on every node: an entry of the old term can never commit.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { KvClient } from '../../client/kv-client.js';
import type { Drill, DrillContext } from '../drill.js';
import { until } from '../poll.js';
import { waitCaughtUp } from './catch-up.js';

/** The service's default election timeout upper bound (SPEC 1). */
const ELECTION_TIMEOUT_MAX_MS = 500;
/** The pause lasts at least this long: three election timeouts. */
export const PAUSE_MS_MIN = 3 * ELECTION_TIMEOUT_MAX_MS;
/** A resumed node may first catch up on its timers; past this a probe counts as unanswered. */
const PROBE_TIMEOUT_MS = 10_000;
const CLIENT_REQUEST_TIMEOUT_MS = 2000;

interface ProbeAnswer {
  readonly what: string;
  /** null: no answer (a refusal too). */
  readonly status: number | null;
  readonly term: string | null;
  readonly body: { value?: string; error?: string } | null;
}

export const pauseLeader: Drill = {
  name: 'pause-leader',
  summary: 'SIGSTOP the leader past the election timeout, SIGCONT it and race it: no stale read, no write in the old term',
  async run(ctx: DrillContext): Promise<void> {
    const { cluster, load, progress } = ctx;
    const before = await cluster.waitForLeader(ctx.stepDeadlineMs);
    const oldUrl = cluster.node(before.id).url;
    const others = cluster.nodes.filter((n) => n.id !== before.id);
    const readKey = `${load.options.prefix}probe/read`;
    const writeKeys = [`${load.options.prefix}probe/write-1`, `${load.options.prefix}probe/write-2`];
    const clientOptions = { requestTimeoutMs: CLIENT_REQUEST_TIMEOUT_MS, retryBudgetMs: ctx.stepDeadlineMs };
    progress.phase(`load under leader ${before.id} (term ${before.term})`);
    const staleValue = `before-pause-${Date.now()}`;
    await new KvClient({ endpoints: cluster.endpoints, ...clientOptions }).put(readKey, staleValue);
    await ctx.runLoad(ctx.phaseMs);

    progress.phase(`SIGSTOP leader ${before.id}`);
    const acksAtStop = load.acks;
    const stoppedAt = performance.now();
    await cluster.stop(before.id);
    const elected = await cluster.waitForLeader(ctx.stepDeadlineMs, others.map((n) => n.id), before.term);
    ctx.figure('SIGSTOP to new leader', performance.now() - stoppedAt, 'ms');
    ctx.check('the others elected a new leader in a higher term', elected.term > before.term && elected.id !== before.id, `${elected.id} in term ${elected.term} (old: ${before.id} in term ${before.term})`);
    const freshValue = `changed-by-${elected.id}-term-${elected.term}`;
    await new KvClient({ endpoints: others.map((n) => n.url), ...clientOptions }).put(readKey, freshValue);

    progress.phase(`${before.id} paused; load under ${elected.id}`);
    const pausedSoFar = performance.now() - stoppedAt;
    await ctx.runLoad(Math.max(ctx.phaseMs, PAUSE_MS_MIN - pausedSoFar));
    // Clients first wait out their request timeout on the stopped node, then retry elsewhere:
    // on a slow machine that can outlast a short phase, so wait for the first ack, bounded.
    await until('a write acknowledged while the leader is paused', ctx.stepDeadlineMs, async () => (load.acks > acksAtStop ? true : undefined)).catch(() => undefined);
    ctx.check('load went on while the leader was paused', load.acks > acksAtStop, `${load.acks - acksAtStop} writes acknowledged during the pause`);
    // A timer may fire a fraction of a millisecond early by performance.now(): top the pause up.
    for (let left = PAUSE_MS_MIN - (performance.now() - stoppedAt); left > 0; left = PAUSE_MS_MIN - (performance.now() - stoppedAt)) {
      await delay(Math.ceil(left));
    }

    progress.phase(`SIGCONT ${before.id} and race it with a read and a write`);
    const readUrl = `${oldUrl}/kv/${encodeURIComponent(readKey)}?consistency=linearizable`;
    const writeUrl = (i: number): string => `${oldUrl}/kv/${encodeURIComponent(writeKeys[i]!)}`;
    // Sent while it is stopped: they reach it as it resumes, before it can have heard of the new term.
    const queued = [probe('read (sent paused)', readUrl, 'GET'), probe('write (sent paused)', writeUrl(0), 'PUT', { value: 'old-leader-1' })];
    const pausedMs = performance.now() - stoppedAt;
    await cluster.cont(before.id);
    const resumedAt = performance.now();
    const raced = [probe('read (sent at SIGCONT)', readUrl, 'GET'), probe('write (sent at SIGCONT)', writeUrl(1), 'PUT', { value: 'old-leader-2' })];
    // Polled beside the probes, so the figure does not include their wait.
    const steppedDown = until(`${before.id} to follow the new term`, ctx.stepDeadlineMs, async () => {
      const s = await cluster.status(before.id);
      return s !== null && (s.role !== 'leader' || s.term > before.term) ? performance.now() - resumedAt : undefined;
    }, { intervalMs: 10, describe: () => cluster.describe() });
    // Awaited below; a rejection meanwhile must not go unhandled.
    steppedDown.catch(() => undefined);
    ctx.figure('pause length', pausedMs, 'ms');
    const answers = await Promise.all([...queued, ...raced]);
    const reads = answers.filter((a) => a.what.startsWith('read'));
    const writes = answers.filter((a) => a.what.startsWith('write'));

    const staleReads = reads.filter((a) => a.status === 404 || (a.status === 200 && a.body?.value !== freshValue));
    ctx.check('old leader served no stale read', staleReads.length === 0, reads.map((a) => describeAnswer(a, { staleValue, freshValue })).join('; '));
    const oldTermWrites = writes.filter((a) => a.status !== null && a.status >= 200 && a.status < 300 && (a.term === null || a.term === String(before.term)));
    ctx.check('old leader accepted no write in the old term', oldTermWrites.length === 0, writes.map((a) => describeAnswer(a, { staleValue, freshValue })).join('; '));

    ctx.figure('SIGCONT to old leader following', await steppedDown, 'ms');
    ctx.figure('old leader caught up', await waitCaughtUp(ctx, before.id, `${before.id} to catch up`), 'ms');

    // What the old node acknowledged must be in every node's final state (SPEC 6).
    await cluster.waitForAllApplied(ctx.stepDeadlineMs);
    const acknowledged = writes.map((a, i) => ({ a, key: writeKeys[i]!, value: `old-leader-${i + 1}` })).filter(({ a }) => a.status === 200);
    const missing: string[] = [];
    for (const { key, value } of acknowledged) {
      for (const node of cluster.nodes.filter((n) => n.running)) {
        const found = await staleValueOf(node.url, key);
        if (found !== value) missing.push(`${node.id}: ${key}=${JSON.stringify(found)}, acknowledged ${JSON.stringify(value)}`);
      }
    }
    ctx.check('every write the old leader acknowledged is applied everywhere', missing.length === 0, missing.length === 0 ? `${acknowledged.length} acknowledged, all present` : missing.join('; '));
  },
};

async function probe(what: string, url: string, method: string, body?: unknown): Promise<ProbeAnswer> {
  try {
    const r = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    const text = await r.text();
    let parsed: ProbeAnswer['body'] = null;
    try {
      parsed = JSON.parse(text) as ProbeAnswer['body'];
    } catch {
      parsed = null;
    }
    return { what, status: r.status, term: r.headers.get('x-raft-term'), body: parsed };
  } catch {
    return { what, status: null, term: null, body: null };
  }
}

function describeAnswer(a: ProbeAnswer, values: { staleValue: string; freshValue: string }): string {
  if (a.status === null) return `${a.what}: no answer in ${PROBE_TIMEOUT_MS} ms`;
  const term = `term ${a.term ?? '?'}`;
  if (a.status === 200 && a.body?.value !== undefined) {
    const which = a.body.value === values.freshValue ? 'fresh value' : a.body.value === values.staleValue ? 'STALE value' : JSON.stringify(a.body.value);
    return `${a.what}: 200 ${which}, ${term}`;
  }
  return `${a.what}: ${a.status} ${a.body?.error ?? ''}, ${term}`.replace(' ,', ',');
}

async function staleValueOf(nodeUrl: string, key: string): Promise<string | null> {
  const r = await fetch(`${nodeUrl}/kv/${encodeURIComponent(key)}?consistency=stale`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  if (r.status === 404) return null;
  if (!r.ok) throw new Error(`GET ${key} on ${nodeUrl} answered ${r.status}`);
  return ((await r.json()) as { value: string }).value;
}
