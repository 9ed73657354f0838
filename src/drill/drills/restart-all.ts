/**
 * restart-all: SIGKILL every node at once mid-load (a power cut), then restart them all.
 * Everything acknowledged was fsync'd on a majority before its answer (SPEC 5), so the
 * restarted cluster must elect a leader and hold every acknowledged write.
 */
import type { Drill, DrillContext } from '../drill.js';

export const restartAll: Drill = {
  name: 'restart-all',
  summary: 'SIGKILL every node at once, restart them all; nothing acknowledged is lost',
  async run(ctx: DrillContext): Promise<void> {
    const { cluster, load, progress } = ctx;
    const before = await cluster.waitForLeader(ctx.stepDeadlineMs);
    progress.phase(`load under leader ${before.id} (term ${before.term})`);
    await ctx.runLoad(ctx.phaseMs);

    progress.phase('SIGKILL every node');
    await Promise.all(cluster.nodes.map((n) => cluster.kill(n.id, 'SIGKILL')));
    const acksAtKill = load.acks;
    progress.phase('restart every node (each waits out its stale data-dir lock)');
    const restartedAt = performance.now();
    await Promise.all(cluster.nodes.map((n) => cluster.restart(n.id)));
    const after = await cluster.waitForLeader(ctx.stepDeadlineMs);
    ctx.figure('restart to a leader', performance.now() - restartedAt, 'ms');
    ctx.check('a leader after the restart', after.term > before.term, `${after.id} in term ${after.term}`);

    progress.phase('load after the restart');
    await ctx.runLoad(ctx.phaseMs);
    ctx.check('load went on after the restart', load.acks > acksAtKill, `${load.acks - acksAtKill} writes acknowledged after the restart`);
  },
};
