/**
 * Figure: how long a follower takes to catch up on a snapshot of 100k keys. With the follower
 * stopped (SIGTERM), 100k keys are loaded through the leader and POST /admin/snapshot taken
 * there. The leader keeps its log from its previous snapshot on (a catch-up margin), so one more
 * write and a second snapshot make the 100k-key snapshot the start of its log: that is the one a
 * follower gets. The follower is restarted and timed until its applied index reaches the
 * leader's commit index. Boot, transfer and restore are shown apart, from the nodes' log lines.
 */
import { LocalCluster, type ClusterNode } from '../helpers/cluster.js';
import { kvUrl, request } from '../helpers/http.js';
import { until } from '../helpers/poll.js';

const KEYS = 100_000;
const VALUE = 'v'.repeat(100);
/** Writes in flight at once while loading: enough for group commit to batch them. */
const LOAD_CONCURRENCY = 128;
const ELECTION_DEADLINE_MS = 30_000;
const CATCH_UP_DEADLINE_MS = 300_000;
const LOAD_RETRY_BACKOFF_MS = 20;

const keyOf = (i: number): string => `fig/k${String(i).padStart(6, '0')}`;

/** Puts KEYS keys through `url`, LOAD_CONCURRENCY at a time; a refused or unanswered put is retried (a put is idempotent). */
async function load(url: string): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < KEYS; i = next++) {
      for (let attempt = 1; ; attempt++) {
        const r = await request(kvUrl(url, keyOf(i)), { method: 'PUT', body: { value: VALUE } }).catch(() => null);
        if (r?.status === 200) break;
        if (attempt >= 50) throw new Error(`put ${keyOf(i)} failed 50 times; last: ${r === null ? 'no answer' : `${r.status} ${JSON.stringify(r.body)}`}`);
        // A client's back-off before retrying (not synchronisation).
        await new Promise((resolve) => setTimeout(resolve, LOAD_RETRY_BACKOFF_MS));
      }
    }
  };
  await Promise.all(Array.from({ length: LOAD_CONCURRENCY }, worker));
}

/** The `key=value` fields of the newest line of `node`'s current process carrying `event=<event>`. */
function lastEvent(node: ClusterNode, event: string): Record<string, string> | null {
  const lines = node.outputSinceStart().filter((line) => line.includes(` event=${event} `) || line.endsWith(` event=${event}`));
  const line = lines[lines.length - 1];
  return line === undefined ? null : Object.fromEntries([...line.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1]!, m[2]!]));
}

async function takeSnapshot(nodeUrl: string): Promise<{ index: number; term: number; bytes: number }> {
  const r = await request(`${nodeUrl}/admin/snapshot`, { method: 'POST', timeoutMs: 120_000 });
  if (r.status !== 200) throw new Error(`POST /admin/snapshot answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body as { index: number; term: number; bytes: number };
}

export async function measureSnapshotInstall(mainJs: string): Promise<void> {
  const cluster = await LocalCluster.start(mainJs);
  try {
    const leader = await cluster.waitForLeader(ELECTION_DEADLINE_MS);
    const leaderNode = cluster.node(leader.id);
    const follower = cluster.nodes.find((n) => n.id !== leader.id)!;
    const stopped = await cluster.kill(follower.id, 'SIGTERM');
    if (stopped.code !== 0) throw new Error(`${follower.id} did not stop cleanly: ${JSON.stringify(stopped)}`);

    const loadStarted = performance.now();
    await load(leaderNode.url);
    const loadMs = performance.now() - loadStarted;
    console.log(`loaded ${KEYS} keys (${VALUE.length}-byte values) through ${leader.id} in ${(loadMs / 1000).toFixed(1)} s (${Math.round(KEYS / (loadMs / 1000))} puts/s, ${LOAD_CONCURRENCY} in flight)`);

    const snapshot = await takeSnapshot(leaderNode.url);
    const marker = await request(kvUrl(leaderNode.url, 'fig/after-snapshot'), { method: 'PUT', body: { value: 'x' } });
    if (marker.status !== 200) throw new Error(`the write after the snapshot answered ${marker.status}`);
    const second = await takeSnapshot(leaderNode.url);
    const leaderStatus = (await cluster.status(leader.id))!;
    console.log(
      `leader ${leader.id} snapshots at index ${snapshot.index} (${(snapshot.bytes / 1024 / 1024).toFixed(1)} MiB) and ${second.index}; ` +
        `commit index ${leaderStatus.commitIndex}, WAL from index ${leaderStatus.wal.firstIndex}, ${leaderStatus.keys} keys`,
    );

    const restartedAt = performance.now();
    cluster.restart(follower.id);
    let answeredAt: number | null = null;
    const caughtUp = await until(
      `${follower.id} to apply the leader's commit index ${leaderStatus.commitIndex}`,
      CATCH_UP_DEADLINE_MS,
      async () => {
        const s = await cluster.status(follower.id);
        if (s !== null) answeredAt ??= performance.now();
        return s !== null && s.lastApplied >= leaderStatus.commitIndex ? { status: s, at: performance.now() } : undefined;
      },
      { intervalMs: 20, describe: () => cluster.describe() },
    );
    const totalMs = caughtUp.at - restartedAt;
    const installed = lastEvent(follower, 'snapshot_installed');
    const received = lastEvent(follower, 'snapshot_received');
    const sent = lastEvent(leaderNode, 'snapshot_sent');
    console.log(
      `${follower.id}: restart -> applied index ${caughtUp.status.lastApplied} >= leader commit ${leaderStatus.commitIndex} in ${(totalMs / 1000).toFixed(2)} s ` +
        `(process boot until /admin/status answers: ${answeredAt === null ? '?' : ((answeredAt - restartedAt) / 1000).toFixed(2)} s)`,
    );
    console.log(
      `  by InstallSnapshot: ${sent === null ? 'no snapshot_sent line on the leader' : `leader sent snapshot ${sent['index']} (${sent['bytes']} bytes) in ${sent['ms']} ms`}; ` +
        `${received === null ? 'no snapshot_received line' : `follower received snapshot ${received['index']}`}; ` +
        `${installed === null ? 'no snapshot_installed line' : `restored ${installed['keys']} keys in ${installed['ms']} ms`}`,
    );
  } finally {
    await cluster.destroy();
  }
}
