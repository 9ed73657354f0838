/**
 * lagging-follower: stop a follower (SIGTERM), keep writing until the leader has taken two
 * snapshots past the follower's log end, restart it. The leader's in-memory log keeps one
 * snapshot's worth of entries behind its latest snapshot (see consensus/snapshotter.ts), so
 * after two the follower's next entry is compacted away and the only way back is
 * InstallSnapshot (Raft 7; SPEC 5). Measures the time from the restart to caught up and the
 * bytes the leader sent the follower meanwhile, and checks the evidence on the follower: its
 * `raft_snapshots_total{kind="installed"}` counter and its snapshot index.
 *
 * On its own cluster the nodes snapshot every SNAPSHOT_ENTRIES applied entries. With
 * `--existing` the running cluster keeps its own threshold (10,000 by default), so the drill
 * asks the leader for a snapshot (POST /admin/snapshot) each time SNAPSHOT_ENTRIES more entries
 * are applied: the same two snapshots, without waiting for 20,000 writes.
 */
import type { Drill, DrillContext } from '../drill.js';
import { until } from '../poll.js';
import { waitCaughtUp } from './catch-up.js';
import { metricSample, takeSnapshot } from './node-http.js';

/** Small, so that two snapshots take a few seconds of load. */
export const SNAPSHOT_ENTRIES = 200;
const INSTALLED = 'raft_snapshots_total{kind="installed"}';
const SENT = 'raft_snapshots_total{kind="sent"}';

export const laggingFollower: Drill = {
  name: 'lagging-follower',
  summary: 'stop a follower, write past two snapshots, restart it; it catches up by InstallSnapshot (time, bytes)',
  nodeFlags: ['--snapshot-entries', String(SNAPSHOT_ENTRIES)],
  async run(ctx: DrillContext): Promise<void> {
    const { cluster, progress } = ctx;
    const leader = await cluster.waitForLeader(ctx.stepDeadlineMs);
    const leaderUrl = cluster.node(leader.id).url;
    const follower = cluster.nodes.find((n) => n.id !== leader.id)!.id;
    progress.phase(`load under leader ${leader.id} (term ${leader.term})`);
    await ctx.runLoad(ctx.phaseMs);

    progress.phase(`stop follower ${follower} (SIGTERM)`);
    const followerAtStop = await cluster.status(follower);
    await cluster.kill(follower, 'SIGTERM');
    // What the follower holds is at most its log end; the leader's matchIndex for it is at least
    // what it persisted. Past both, no entry it lacks can be sent from the leader's log.
    const match = (await cluster.status(leader.id))?.peers?.find((p) => p.id === follower)?.matchIndex ?? 0;
    const logEndAtStop = Math.max(followerAtStop?.lastLogIndex ?? 0, match);
    const target = logEndAtStop + 2 * SNAPSHOT_ENTRIES;
    ctx.figure(`${follower} log end when stopped`, logEndAtStop, '');

    progress.phase(`load until ${leader.id}'s snapshot index reaches ${target} (two snapshots past ${logEndAtStop})`);
    let forceAt = logEndAtStop + SNAPSHOT_ENTRIES;
    const leaderAtRestart = await until(
      `${leader.id}'s snapshot index to reach ${target}`,
      ctx.stepDeadlineMs,
      async () => {
        const s = await cluster.status(leader.id);
        if (s === null) return undefined;
        if (s.snapshot.index >= target) return s;
        if (ctx.existing && s.lastApplied >= forceAt) {
          await takeSnapshot(leaderUrl);
          forceAt += SNAPSHOT_ENTRIES;
        }
        return undefined;
      },
      { intervalMs: 100, describe: () => cluster.describe() },
    );
    ctx.figure(`${leader.id} snapshot index at restart`, leaderAtRestart.snapshot.index, '');
    ctx.figure(`${leader.id} snapshot size`, leaderAtRestart.snapshot.bytes, 'bytes');

    progress.phase(`restart ${follower}`);
    const sentBefore = (await metricSample(leaderUrl, SENT)) ?? 0;
    const bytesBefore = await cluster.bytesSent(leader.id, follower);
    await cluster.restart(follower);
    const caughtUpMs = await waitCaughtUp(ctx, follower, `${follower} to boot and catch up`);
    const bytes = (await cluster.bytesSent(leader.id, follower)) - bytesBefore;
    ctx.figure('restart to caught up', caughtUpMs, 'ms');
    ctx.figure(`bytes sent ${leader.id} -> ${follower}, restart to caught up`, bytes, 'bytes');

    const installed = (await metricSample(cluster.node(follower).url, INSTALLED)) ?? 0;
    const sent = ((await metricSample(leaderUrl, SENT)) ?? 0) - sentBefore;
    const followerAfter = await cluster.status(follower);
    const snapshotIndex = followerAfter?.snapshot.index ?? 0;
    ctx.figure('snapshots installed by the follower', installed, '');
    ctx.check(
      'caught up through InstallSnapshot',
      installed >= 1 && snapshotIndex > logEndAtStop,
      `${follower} installed ${installed} snapshot(s) since its restart (${INSTALLED}), its snapshot index ${snapshotIndex} > its log end ${logEndAtStop} at stop; ${leader.id} sent ${sent}`,
    );
    ctx.check('the leader sent the snapshot over the link', bytes >= leaderAtRestart.snapshot.bytes, `${bytes} bytes sent >= ${leaderAtRestart.snapshot.bytes} bytes of snapshot`);
    const after = await cluster.waitForLeader(ctx.stepDeadlineMs);
    ctx.check('leader kept its leadership', after.id === leader.id && after.term === leader.term, `${after.id} in term ${after.term} (was ${leader.id} in term ${leader.term})`);
  },
};
