/**
 * Figure: time from SIGKILL of the leader to the first write accepted by the new leader, on a
 * 3-node cluster with the default timings (heartbeat 50 ms, election timeout 300-500 ms), under
 * a steady load of retrying writers (the drills' load) on every node.
 * Each round kills the current leader, probes both survivors with the same write until one is
 * acknowledged by another node, then restarts the killed node (which first waits out the
 * data-dir lock it left behind) and lets it catch up before the next round.
 */
import { DrillLoad } from '../../../src/drill/load.js';
import { LocalCluster } from '../helpers/cluster.js';
import { kvUrl, request } from '../helpers/http.js';
import { until } from '../helpers/poll.js';
import { median } from './figure-stats.js';

const ROUNDS = 10;
const ELECTION_DEADLINE_MS = 30_000;
/** The restarted node waits about 5 s for its stale lock, then boots and catches up. */
const REJOIN_DEADLINE_MS = 60_000;
const PROBE_TIMEOUT_MS = 1_000;
const CLIENT_ID = 'figures-failover';
const LOAD_WRITERS = 4;

interface Probe {
  readonly ok: boolean;
  readonly node: string | null;
  readonly at: number;
}

/** One attempt of round `seq`'s write through `nodeUrl`; every attempt of a round carries the same clientId+seq. */
async function probeWrite(nodeUrl: string, seq: number): Promise<Probe> {
  try {
    const r = await request(kvUrl(nodeUrl, 'figures/failover'), { method: 'PUT', body: { value: `round ${seq}`, clientId: CLIENT_ID, seq }, timeoutMs: PROBE_TIMEOUT_MS });
    return { ok: r.status === 200, node: r.headers.get('x-raft-node'), at: performance.now() };
  } catch {
    return { ok: false, node: null, at: performance.now() };
  }
}

export async function measureFailover(mainJs: string): Promise<void> {
  const cluster = await LocalCluster.start(mainJs);
  const figures: number[] = [];
  const load = new DrillLoad(cluster.nodes.map((n) => n.url), {
    writers: LOAD_WRITERS,
    prefix: 'figures/load/',
    clientIdPrefix: 'figures-load-',
    requestTimeoutMs: PROBE_TIMEOUT_MS,
    retryBudgetMs: REJOIN_DEADLINE_MS,
  });
  try {
    await cluster.waitForLeader(ELECTION_DEADLINE_MS);
    load.start();
    for (let round = 1; round <= ROUNDS; round++) {
      const before = await cluster.waitForLeader(ELECTION_DEADLINE_MS);
      const leaderUrl = cluster.node(before.id).url;
      // Every member caught up, so each round starts from the same healthy cluster.
      const commitIndex = (await cluster.status(before.id))?.commitIndex ?? 0;
      await until('every member to apply the commit index', REJOIN_DEADLINE_MS, async () => {
        const statuses = await cluster.statuses();
        return statuses.length === 3 && statuses.every((s) => s.lastApplied >= commitIndex) ? true : undefined;
      });
      const warm = await probeWrite(leaderUrl, 2 * round - 1);
      if (!warm.ok) throw new Error(`round ${round}: the leader ${before.id} refused a write before the kill`);

      const survivors = cluster.nodes.filter((n) => n.id !== before.id);
      const seq = 2 * round;
      const killedAt = performance.now();
      cluster.node(before.id).child!.kill('SIGKILL');
      const accepted = await until(
        `a write accepted by a new leader (round ${round})`,
        ELECTION_DEADLINE_MS,
        async () => {
          const probes = await Promise.all(survivors.map((n) => probeWrite(n.url, seq)));
          const ok = probes.filter((p) => p.ok && p.node !== before.id).sort((a, b) => a.at - b.at);
          return ok[0];
        },
        { intervalMs: 5, describe: () => cluster.describe() },
      );
      const ms = accepted.at - killedAt;
      figures.push(ms);
      console.log(`round ${String(round).padStart(2)}: SIGKILL leader ${before.id} (term ${before.term}) -> first write accepted by ${accepted.node} after ${ms.toFixed(0)} ms`);
      await cluster.node(before.id).exited;
      cluster.restart(before.id);
    }
    const sorted = [...figures].sort((a, b) => a - b);
    console.log(
      `failover, SIGKILL of the leader to the first write accepted by the new leader, ${ROUNDS} rounds: ` +
        `median ${median(figures).toFixed(0)} ms, min ${sorted[0]!.toFixed(0)} ms, max ${sorted[sorted.length - 1]!.toFixed(0)} ms`,
    );
    console.log(`load: ${load.acks} writes acknowledged by ${LOAD_WRITERS} writers during the rounds`);
  } finally {
    await load.stop();
    await cluster.destroy();
  }
}
