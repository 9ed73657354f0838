/**
 * partition-leader: cut the leader's peer links (both directions) while clients keep writing.
 * The majority must elect a new leader (Raft 5.2); the old one must step down once it has not
 * heard from a quorum for an election timeout (CheckQuorum) and, while cut off, must answer no
 * linearizable read and acknowledge no write: its state may be stale, and a write it accepted
 * could never commit. Then heal, and the old leader must rejoin and catch up.
 */
import type { Drill, DrillContext } from '../drill.js';
import { until } from '../poll.js';
import { waitCaughtUp } from './catch-up.js';
import { setTimeout as delay } from 'node:timers/promises';

/** A probe of the cut-off node gives up after this long (no answer is a refusal too). */
const PROBE_TIMEOUT_MS = 1500;
/** Spaces the probes (a rate, not a synchronisation): a refusal comes back at once, and a tight loop would starve the load. */
const PROBE_INTERVAL_MS = 20;

interface ProbeCounts {
  reads: number;
  readsAnswered: number;
  writes: number;
  writesAcknowledged: number;
}

export const partitionLeader: Drill = {
  name: 'partition-leader',
  summary: 'cut the leader off from its peers; a new leader is elected, the old one steps down and serves nothing; heal',
  async run(ctx: DrillContext): Promise<void> {
    const { cluster, load, progress } = ctx;
    const before = await cluster.waitForLeader(ctx.stepDeadlineMs);
    progress.phase(`load under leader ${before.id} (term ${before.term})`);
    await ctx.runLoad(ctx.phaseMs);
    const acksBeforeCut = load.acks;

    progress.phase(`cut ${before.id} off from its peers`);
    const majority = cluster.nodes.filter((n) => n.id !== before.id).map((n) => n.id);
    const cutAt = performance.now();
    await cluster.isolate(before.id);
    const counts: ProbeCounts = { reads: 0, readsAnswered: 0, writes: 0, writesAcknowledged: 0 };
    const probing = { on: true };
    const prober = probeCutOffNode(cluster.node(before.id).url, load.keys.shared, `${load.options.prefix}probe`, counts, probing);

    const elected = await cluster.waitForLeader(ctx.stepDeadlineMs, majority, before.term);
    ctx.figure('cut to new leader', performance.now() - cutAt, 'ms');
    ctx.check('majority elected a new leader', majority.includes(elected.id), `${elected.id} in term ${elected.term}`);

    await until(`${before.id} to step down`, ctx.stepDeadlineMs, async () => {
      const s = await cluster.status(before.id);
      return s !== null && s.role !== 'leader' ? true : undefined;
    }, { intervalMs: 10, describe: () => cluster.describe() });
    ctx.figure('cut to old leader stepping down', performance.now() - cutAt, 'ms');

    progress.phase(`load under ${elected.id} while ${before.id} is cut off`);
    await ctx.runLoad(ctx.phaseMs);
    probing.on = false;
    await prober;
    ctx.figure('linearizable reads sent to the cut-off node', counts.reads, '');
    ctx.figure('writes sent to the cut-off node', counts.writes, '');
    ctx.check('cut-off node answered no linearizable read', counts.reads > 0 && counts.readsAnswered === 0, `${counts.readsAnswered} of ${counts.reads} answered`);
    ctx.check('cut-off node acknowledged no write', counts.writes > 0 && counts.writesAcknowledged === 0, `${counts.writesAcknowledged} of ${counts.writes} answered 200`);
    ctx.check('load went on under the majority', load.acks > acksBeforeCut, `${load.acks - acksBeforeCut} writes acknowledged after the cut`);

    progress.phase('heal');
    await cluster.healAll();
    ctx.figure('heal to old leader caught up', await waitCaughtUp(ctx, before.id, `${before.id} to rejoin and catch up`), 'ms');
  },
};

/**
 * Sends linearizable reads and plain writes to the cut-off node, one at a time, until told to
 * stop. Any 200 is a violation: the node cannot reach a quorum, so it cannot confirm a read
 * (ReadIndex) nor commit a write. A write probe carries no clientId, and its key is outside
 * what the load checks, so a (wrongly) applied one cannot disturb the token verification.
 */
async function probeCutOffNode(url: string, readKey: string, writeKey: string, counts: ProbeCounts, probing: { on: boolean }): Promise<void> {
  for (let i = 1; probing.on; i++) {
    counts.reads++;
    // 404 would be an answer too ("absent"): either means the node served the read.
    const read = await statusOf(`${url}/kv/${encodeURIComponent(readKey)}?consistency=linearizable`, 'GET');
    if (read === 200 || read === 404) counts.readsAnswered++;
    if (!probing.on) break;
    counts.writes++;
    if ((await statusOf(`${url}/kv/${encodeURIComponent(writeKey)}`, 'PUT', { value: `cut-${i}` })) === 200) counts.writesAcknowledged++;
    await delay(PROBE_INTERVAL_MS);
  }
}

/** The HTTP status of one request; null when no answer came in time. */
async function statusOf(url: string, method: string, body?: unknown): Promise<number | null> {
  try {
    const r = await fetch(url, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    await r.arrayBuffer();
    return r.status;
  } catch {
    return null;
  }
}
