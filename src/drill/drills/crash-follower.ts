/**
 * crash-follower: SIGKILL a follower mid-load, restart it on its data dir. The leader keeps
 * its quorum, so the load must not stall beyond a retry; the follower must catch up.
 */
import type { Drill, DrillContext } from '../drill.js';
import { waitCaughtUp } from './catch-up.js';

export const crashFollower: Drill = {
  name: 'crash-follower',
  summary: 'SIGKILL a follower mid-load, restart it; the leader stays, the follower catches up',
  async run(ctx: DrillContext): Promise<void> {
    const { cluster, load, progress } = ctx;
    const before = await cluster.waitForLeader(ctx.stepDeadlineMs);
    const follower = cluster.nodes.find((n) => n.id !== before.id)!.id;
    progress.phase(`load under leader ${before.id} (term ${before.term})`);
    await ctx.runLoad(ctx.phaseMs);

    progress.phase(`SIGKILL follower ${follower}`);
    await cluster.kill(follower, 'SIGKILL');
    const acksAtKill = load.acks;
    await ctx.runLoad(ctx.phaseMs);
    ctx.check('load went on without the follower', load.acks > acksAtKill, `${load.acks - acksAtKill} writes acknowledged while ${follower} was down`);

    progress.phase(`restart ${follower} (waits out its stale data-dir lock)`);
    await cluster.restart(follower);
    ctx.figure('restart to caught up', await waitCaughtUp(ctx, follower, `${follower} to boot and catch up`), 'ms');
    const after = await cluster.waitForLeader(ctx.stepDeadlineMs);
    ctx.check('leader kept its leadership', after.id === before.id && after.term === before.term, `${after.id} in term ${after.term} (was ${before.id} in term ${before.term})`);
  },
};
