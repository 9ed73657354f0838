/**
 * Snapshot install drill, real processes (SPEC 5: "a follower too far behind receives the
 * snapshot by InstallSnapshot, in chunks, and then the log from there"; Raft 7). A follower is
 * stopped; the others write past two snapshot thresholds, so the leader's log (in memory and on
 * disk) starts after the follower's last entry. Restarted, the follower installs the leader's
 * snapshot, catches up from the log, and holds the same state as the leader.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KvClient } from '../../src/client/kv-client.js';
import { buildService } from './helpers/build.js';
import { LocalCluster } from './helpers/cluster.js';
import { staleListing } from './helpers/http.js';
import { until } from './helpers/poll.js';

const SNAPSHOT_ENTRIES = 200;
/** Small segments and chunks: compaction deletes segments, and the snapshot travels in several chunks. */
const SEGMENT_BYTES = 4096;
const CHUNK_BYTES = 4096;
const WRITERS = 8;
/** Each round is a put and an append, and every 5th a delete: about 900 entries in all. */
const ROUNDS_PER_WRITER = 50;
const ELECTION_DEADLINE_MS = 30_000;
const CATCH_UP_DEADLINE_MS = 60_000;
const LISTING_LIMIT = 10_000;

let cluster: LocalCluster | undefined;

beforeAll(async () => {
  const mainJs = await buildService();
  cluster = await LocalCluster.start(mainJs, {
    flags: ['--snapshot-entries', String(SNAPSHOT_ENTRIES), '--wal-segment-bytes', String(SEGMENT_BYTES), '--snapshot-chunk-bytes', String(CHUNK_BYTES)],
  });
}, 360_000);

afterAll(async () => {
  await cluster?.destroy();
}, 60_000);

/** One writer's rounds; `expected` gets the state they leave behind. */
async function writeRounds(client: KvClient, w: number, expected: Map<string, string>): Promise<void> {
  let log = '';
  for (let k = 1; k <= ROUNDS_PER_WRITER; k++) {
    const key = `snap/w${w}/k${k}`;
    await client.put(key, `v${k}`);
    expected.set(key, `v${k}`);
    log += `${k},`;
    await client.append(`snap/log/w${w}`, `${k},`);
    expected.set(`snap/log/w${w}`, log);
    if (k % 5 === 0) {
      await client.delete(`snap/w${w}/k${k - 2}`);
      expected.delete(`snap/w${w}/k${k - 2}`);
    }
  }
}

/** `key=value` pairs of the first line of `lines` carrying `event=<event>` and matching `filter`. */
function findEvent(lines: readonly string[], event: string, filter: (fields: Record<string, string>) => boolean = () => true): Record<string, string> | null {
  for (const line of lines) {
    if (!line.includes(` event=${event} `) && !line.endsWith(` event=${event}`)) continue;
    const fields = Object.fromEntries([...line.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1]!, m[2]!]));
    if (filter(fields)) return fields;
  }
  return null;
}

describe('snapshot install drill', () => {
  it('a follower whose log the leader compacted away installs its snapshot and ends with the same state', async () => {
    const c = cluster!;
    const leader = await c.waitForLeader(ELECTION_DEADLINE_MS);
    const follower = c.nodes.find((n) => n.id !== leader.id)!;
    const followerLastIndex = (await c.status(follower.id))!.lastLogIndex;
    expect(await c.kill(follower.id, 'SIGTERM')).toEqual({ code: 0, signal: null });

    const endpoints = c.nodes.filter((n) => n.running).map((n) => n.url);
    const expected = new Map<string, string>();
    await Promise.all(
      Array.from({ length: WRITERS }, (_, w) => writeRounds(new KvClient({ endpoints, clientId: `snap-w${w}`, retryBudgetMs: 30_000 }), w, expected)),
    );

    // Two snapshots past the follower's last entry: the core keeps the log from the older one
    // (a catch-up margin), so both must be past it; on disk, the segments up to the newer are gone.
    const compacted = await until(
      `the leader to snapshot past index ${followerLastIndex + 3 * SNAPSHOT_ENTRIES} and drop the segments before it`,
      CATCH_UP_DEADLINE_MS,
      async () => {
        const s = await c.status(leader.id);
        return s !== null && s.snapshot.index >= followerLastIndex + 3 * SNAPSHOT_ENTRIES && s.wal.firstIndex > followerLastIndex + 1 ? s : undefined;
      },
      { describe: () => c.describe() },
    );

    c.restart(follower.id);
    const caughtUp = await until(
      `${follower.id} to install a snapshot and apply the leader's commit index`,
      CATCH_UP_DEADLINE_MS,
      async () => {
        const [back, lead] = await Promise.all([c.status(follower.id), c.status(leader.id)]);
        return back !== null && lead !== null && back.snapshot.index > followerLastIndex && back.lastApplied >= lead.commitIndex ? back : undefined;
      },
      { describe: () => c.describe() },
    );

    // It got there by InstallSnapshot (not by replaying a log the leader no longer has): the
    // snapshot it installed is one the leader took and streamed to it, in several chunks.
    const installed = findEvent(c.node(follower.id).outputSinceStart(), 'snapshot_installed');
    expect(installed).not.toBeNull();
    const installedIndex = Number(installed!['index']);
    expect(installedIndex).toBeGreaterThan(followerLastIndex);
    expect(caughtUp.snapshot.index).toBeGreaterThanOrEqual(installedIndex);
    const leaderLines = c.node(leader.id).output;
    expect(findEvent(leaderLines, 'snapshot_taken', (f) => Number(f['index']) === installedIndex)).not.toBeNull();
    const sent = findEvent(leaderLines, 'snapshot_sent', (f) => f['peer'] === follower.id && Number(f['index']) === installedIndex);
    expect(sent).not.toBeNull();
    expect(Number(sent!['bytes'])).toBeGreaterThan(CHUNK_BYTES);

    const leaderState = await staleListing(c.node(leader.id).url, 'snap/', LISTING_LIMIT);
    const followerState = await staleListing(follower.url, 'snap/', LISTING_LIMIT);
    expect([...leaderState]).toEqual([...expected].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    expect([...followerState]).toEqual([...leaderState]);
    console.log(
      `snapshot drill: ${follower.id} stopped at last index ${followerLastIndex}; leader ${leader.id} snapshot ${compacted.snapshot.index}, ` +
        `WAL from ${compacted.wal.firstIndex}; ${follower.id} installed snapshot ${installedIndex} (${sent!['bytes']} bytes in ${sent!['ms']} ms), ` +
        `now at snapshot ${caughtUp.snapshot.index}, applied ${caughtUp.lastApplied}; ${expected.size} keys`,
    );
  }, 180_000);
});
