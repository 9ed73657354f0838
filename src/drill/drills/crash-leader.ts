/**
 * crash-leader: SIGKILL the leader mid-load, restart it on its data dir. Measures the time
 * without a leader (kill -> a new leader named by every survivor, Raft 5.2) and the time from
 * the restart until the old leader has applied what the new leader had committed. The runner
 * then checks that no acknowledged write was lost and no retried write applied twice.
 */
import type { Drill, DrillContext } from '../drill.js';
import { waitCaughtUp } from './catch-up.js';

export const crashLeader: Drill = {
  name: 'crash-leader',
  summary: 'SIGKILL the leader mid-load, restart it; time without a leader, time to catch up',
  async run(ctx: DrillContext): Promise<void> {
    const { cluster, load, progress } = ctx;
    const before = await cluster.waitForLeader(ctx.stepDeadlineMs);
    progress.phase(`load under leader ${before.id} (term ${before.term})`);
    await ctx.runLoad(ctx.phaseMs);
    const acksBeforeKill = load.acks;

    progress.phase(`SIGKILL leader ${before.id}`);
    const survivors = cluster.nodes.filter((n) => n.id !== before.id).map((n) => n.id);
    const killedAt = performance.now();
    await cluster.kill(before.id, 'SIGKILL');
    const elected = await cluster.waitForLeader(ctx.stepDeadlineMs, survivors, before.term);
    const withoutLeaderMs = performance.now() - killedAt;
    ctx.figure('time without a leader', withoutLeaderMs, 'ms');
    ctx.check('new leader elected', survivors.includes(elected.id), `${elected.id} in term ${elected.term}, named by ${survivors.join(', ')}`);

    progress.phase(`restart ${before.id} (waits out its stale data-dir lock)`);
    await cluster.restart(before.id);
    ctx.figure('restart to caught up', await waitCaughtUp(ctx, before.id, `${before.id} to boot and apply what the leader committed`), 'ms');

    progress.phase('load after recovery');
    await ctx.runLoad(ctx.phaseMs);
    ctx.check('load went on after the crash', load.acks > acksBeforeKill, `${load.acks - acksBeforeKill} writes acknowledged after the kill`);
  },
};
