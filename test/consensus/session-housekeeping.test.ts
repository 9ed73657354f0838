import { describe, expect, it } from '@jest/globals';
import { HostCluster, TEST_HOST_OPTIONS } from './helpers/host-cluster.js';

/**
 * Idle sessions expire by log time (SPEC 2: decided from the log, never a local clock), and every
 * applied entry carries the leader's time stamp. The leader proposes a sessions entry of its own
 * only when the log time stood still for a whole interval while sessions exist: a read-only or
 * idle cluster without sessions appends nothing.
 */
const intervalMs = TEST_HOST_OPTIONS.sessionHousekeepingMs;

async function leaderCluster(): Promise<HostCluster> {
  const cluster = new HostCluster(['n1', 'n2', 'n3']);
  await cluster.elect('n1');
  return cluster;
}

async function passTime(cluster: HostCluster, ms: number): Promise<void> {
  cluster.clock.ms += ms;
  cluster.node('n1').host.tick();
  await cluster.settle();
}

describe('RaftHost: sessions housekeeping entries', () => {
  it('without sessions, an idle leader appends nothing, however long it waits', async () => {
    const cluster = await leaderCluster();
    const leader = cluster.node('n1').host;
    const lastIndex = leader.raft.log.lastIndex();
    for (let k = 0; k < 3; k++) await passTime(cluster, intervalMs + 1);
    expect(leader.stateMachine.sessionCount).toBe(0);
    expect(leader.raft.log.lastIndex()).toBe(lastIndex);
  });

  it('with sessions and no write for an interval, the leader appends one sessions entry, which expires idle sessions', async () => {
    const cluster = await leaderCluster();
    const leader = cluster.node('n1').host;
    const write = leader.write({ op: 'put', key: 'k', value: 'v', clientId: 'c1', seq: 1 });
    await cluster.settle();
    await write;
    expect(leader.stateMachine.sessionCount).toBe(1);
    const lastIndex = leader.raft.log.lastIndex();
    await passTime(cluster, intervalMs - 1);
    expect(leader.raft.log.lastIndex()).toBe(lastIndex);
    // The session's TTL (sessionLimits.sessionTtlMs) has passed by log time once this entry applies.
    await passTime(cluster, TEST_HOST_OPTIONS.sessionLimits.sessionTtlMs);
    expect(leader.raft.log.lastIndex()).toBe(lastIndex + 1);
    expect(leader.stateMachine.sessionCount).toBe(0);
  });

  it('a client write moves the log time on, so it postpones the sessions entry by a whole interval', async () => {
    const cluster = await leaderCluster();
    const leader = cluster.node('n1').host;
    const first = leader.write({ op: 'put', key: 'k', value: 'v', clientId: 'c1', seq: 1 });
    await cluster.settle();
    await first;
    await passTime(cluster, intervalMs - 10);
    const second = leader.write({ op: 'put', key: 'k', value: 'w' });
    await cluster.settle();
    await second;
    const lastIndex = leader.raft.log.lastIndex();
    await passTime(cluster, 20);
    expect(leader.raft.log.lastIndex()).toBe(lastIndex);
    await passTime(cluster, intervalMs);
    expect(leader.raft.log.lastIndex()).toBe(lastIndex + 1);
  });
});
