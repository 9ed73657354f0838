import type { DrillContext } from '../drill.js';
import { until } from '../poll.js';

/** Waits until `id` answers and has applied what the agreed leader has committed; answers the ms it took. */
export async function waitCaughtUp(ctx: DrillContext, id: string, what: string): Promise<number> {
  const { cluster } = ctx;
  const startedAt = performance.now();
  await until(
    what,
    ctx.stepDeadlineMs,
    async () => {
      const leader = await cluster.agreedLeader();
      if (leader === null) return undefined;
      const [node, leaderStatus] = await Promise.all([cluster.status(id), cluster.status(leader.id)]);
      return node !== null && leaderStatus !== null && node.lastApplied >= leaderStatus.commitIndex ? true : undefined;
    },
    { describe: () => cluster.describe() },
  );
  return performance.now() - startedAt;
}
