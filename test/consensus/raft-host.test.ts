import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import type { Message } from '../../src/consensus/core/messages.js';
import { CommitTimeoutError, NotLeaderError, StaleSequenceError, UnavailableError } from '../../src/consensus/kv-node.port.js';
import { HostCluster, TEST_HOST_OPTIONS, track } from './helpers/host-cluster.js';

/**
 * The host's Ready loop (raft-host.ts) around real Raft cores, with fake storage and transport:
 * persist before speak, writes answered only once applied, group commit, fatal fsync failures,
 * leadership changes, ReadIndex, snapshots. Every test checks, at each send, that what the
 * message promises is already durable on its sender (Raft fig. 2, "persistent state ... updated
 * on stable storage before responding to RPCs").
 */

let cluster: HostCluster;

function installDurabilityCheck(c: HostCluster): string[] {
  const violations: string[] = [];
  c.onSendCheck = (m: Message) => {
    const sender = c.node(m.from).storage;
    if (m.type === 'AppendEntriesResponse' && m.success && sender.durableLastIndex < m.matchIndex) {
      violations.push(`${m.from} acked ${m.matchIndex} with only ${sender.durableLastIndex} durable`);
    }
    if (m.type === 'RequestVoteResponse' && m.granted && !m.preVote) {
      const hs = sender.durableHardState;
      if (hs.term !== m.term || hs.vote !== m.to) violations.push(`${m.from} granted its vote in term ${m.term} before persisting it`);
    }
    if (m.type === 'RequestVote' && !m.preVote) {
      const hs = sender.durableHardState;
      if (hs.term !== m.term || hs.vote !== m.from) violations.push(`${m.from} campaigned in term ${m.term} before persisting its vote`);
    }
    if ((m.type === 'AppendEntries' || m.type === 'Heartbeat') && sender.durableHardState.term !== m.term) {
      violations.push(`${m.from} sent ${m.type} in term ${m.term} with term ${sender.durableHardState.term} durable`);
    }
  };
  return violations;
}

let violations: string[];

async function tickLeader(id: string): Promise<void> {
  cluster.node(id).host.tick();
  await cluster.settle();
}

beforeEach(() => {
  cluster = new HostCluster(['n1', 'n2', 'n3']);
  violations = installDurabilityCheck(cluster);
});

afterEach(() => {
  expect(violations).toEqual([]);
});

describe('RaftHost: election and writes', () => {
  it('elects a leader from ticks; the new leader commits its noop and a sessions entry everywhere', async () => {
    await cluster.elect('n1');
    const leader = cluster.node('n1').host;
    expect(leader.raft.role).toBe('leader');
    expect(leader.applied).toBe(2);
    // Followers learn the commit index on the leader's next tick (deferCommitOnlyAppends).
    await tickLeader('n1');
    for (const id of ['n2', 'n3']) {
      const follower = cluster.node(id).host;
      expect(follower.raft.leaderId).toBe('n1');
      expect(follower.applied).toBe(2);
      // The sessions entry made the leader's limits the cluster's.
      expect(follower.stateMachine.sessionLimits).toEqual(TEST_HOST_OPTIONS.sessionLimits);
    }
    expect(cluster.node('n1').metrics.get('leaderChanges')).toBe(1);
  });

  it('answers a write only after its entry is committed and applied, with the apply answer', async () => {
    await cluster.elect('n1');
    const leader = cluster.node('n1').host;
    let seenAtAnswer: string | null | undefined;
    const write = leader.write({ op: 'put', key: 'k', value: 'v1' }).then((answer) => {
      seenAtAnswer = leader.stateMachine.get('k')?.value ?? null;
      return answer;
    });
    const tracked = track(write);
    // Nothing was delivered yet: no quorum, no answer.
    await new Promise((resolve) => setImmediate(resolve));
    expect(tracked.state).toBe('pending');
    expect(leader.stateMachine.get('k')).toBeNull();
    await cluster.settle();
    expect(await write).toEqual({ key: 'k', value: 'v1', index: 3 });
    expect(seenAtAnswer).toBe('v1');
    // The answer did not wait for the followers to learn the commit: that comes with the next tick.
    for (const id of ['n2', 'n3']) expect(cluster.node(id).host.stateMachine.get('k')).toBeNull();
    await tickLeader('n1');
    for (const id of ['n2', 'n3']) expect(cluster.node(id).host.stateMachine.get('k')?.value).toBe('v1');
    expect(cluster.node('n1').metrics.get('proposals_committed')).toBe(1);
  });

  it('a follower acknowledges entries only once its save is durable (persist before send)', async () => {
    await cluster.elect('n1');
    const n2 = cluster.node('n2');
    n2.storage.hold = true;
    cluster.isolated.add('n3');
    const start = cluster.events.length;
    const write = track(cluster.node('n1').host.write({ op: 'put', key: 'a', value: '1' }));
    await cluster.settle();
    expect(n2.storage.heldSaves).toBeGreaterThan(0);
    expect(cluster.events.slice(start).filter((e) => e.startsWith('n2 send AppendEntriesResponse'))).toEqual([]);
    expect(write.state).toBe('pending');
    const before = cluster.events.length;
    n2.storage.release();
    await cluster.settle();
    const after = cluster.events.slice(before);
    const done = after.findIndex((e) => e.startsWith('n2 save-done'));
    const ack = after.findIndex((e) => e.startsWith('n2 send AppendEntriesResponse'));
    expect(done).toBeGreaterThanOrEqual(0);
    expect(ack).toBeGreaterThan(done);
    expect(write.state).toBe('resolved');
  });

  it('the leader replicates before its own fsync, but applies and answers only after it (thesis 10.2.1)', async () => {
    await cluster.elect('n1');
    const n1 = cluster.node('n1');
    n1.storage.hold = true;
    const write = track(n1.host.write({ op: 'put', key: 'b', value: '2' }));
    await cluster.settle();
    // The followers have the entry durably (their AppendEntries went out before n1's save finished)...
    for (const id of ['n2', 'n3']) expect(cluster.node(id).storage.durableLastIndex).toBe(3);
    expect(n1.storage.durableLastIndex).toBe(2);
    // ... but the leader applies nothing its own disk lacks.
    expect(write.state).toBe('pending');
    expect(n1.host.stateMachine.get('b')).toBeNull();
    n1.storage.release();
    await cluster.settle();
    expect(write.state).toBe('resolved');
    expect(n1.host.stateMachine.get('b')?.value).toBe('2');
  });

  it('group commit: writes arriving while a save is in flight share the next one', async () => {
    await cluster.elect('n1');
    const n1 = cluster.node('n1');
    n1.storage.hold = true;
    const first = n1.host.write({ op: 'put', key: 'x0', value: '0' });
    await new Promise((resolve) => setImmediate(resolve));
    const savesBefore = n1.storage.saves;
    const rest = Array.from({ length: 20 }, (_, k) => n1.host.write({ op: 'put', key: `x${k + 1}`, value: String(k + 1) }));
    n1.storage.release();
    await cluster.settle();
    await Promise.all([first, ...rest]);
    // The twenty proposals made while the first save was held went out in one more save.
    const laterSavesWithEntries = cluster.events.filter((e) => e.startsWith('n1 save-start entries=20')).length;
    expect(laterSavesWithEntries).toBe(1);
    expect(n1.storage.saves - savesBefore).toBeLessThanOrEqual(2);
  });

  it('a failed save is fatal: the host stops and waiting writes learn the outcome is unknown', async () => {
    await cluster.elect('n1');
    const n1 = cluster.node('n1');
    const eio = new Error('EIO: fsync failed');
    n1.storage.failNext = eio;
    const write = n1.host.write({ op: 'put', key: 'c', value: '3' });
    await expect(write).rejects.toBeInstanceOf(CommitTimeoutError);
    await cluster.settle();
    expect(n1.fatal).toEqual([eio]);
    // Stopped: no more ticks, no more writes.
    const term = n1.host.raft.term;
    for (let k = 0; k < 50; k++) n1.host.tick();
    expect(n1.host.raft.term).toBe(term);
    await expect(n1.host.write({ op: 'put', key: 'd', value: '4' })).rejects.toBeInstanceOf(UnavailableError);
  });

  it('a stale sequence is refused with StaleSequenceError; a retry of the latest gets the first answer', async () => {
    await cluster.elect('n1');
    const leader = cluster.node('n1').host;
    const first = leader.write({ op: 'append', key: 's', value: 'a', clientId: 'c1', seq: 5 });
    await cluster.settle();
    const answer = await first;
    const retry = leader.write({ op: 'append', key: 's', value: 'a', clientId: 'c1', seq: 5 });
    const stale = track(leader.write({ op: 'append', key: 's', value: 'a', clientId: 'c1', seq: 4 }));
    await cluster.settle();
    expect(await retry).toEqual(answer);
    expect(stale.state).toBe('rejected');
    expect(stale.error).toBeInstanceOf(StaleSequenceError);
    expect(stale.error).toMatchObject({ latestSeq: 5 });
    expect(leader.stateMachine.get('s')?.value).toBe('a');
  });
});

describe('RaftHost: not the leader, limits and timeouts', () => {
  it('a follower refuses writes and reads with NotLeaderError naming the leader and its url', async () => {
    await cluster.elect('n1');
    const follower = cluster.node('n2').host;
    const error = await follower.write({ op: 'put', key: 'k', value: 'v' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotLeaderError);
    expect(error).toMatchObject({ leaderId: 'n1', leaderUrl: 'http://n1.test' });
    await expect(follower.readBarrier()).rejects.toBeInstanceOf(NotLeaderError);
  });

  it('with no leader known, writes are refused as no_leader', async () => {
    const error = await cluster.node('n1').host.write({ op: 'put', key: 'k', value: 'v' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as UnavailableError).code).toBe('no_leader');
  });

  it('pending writes are bounded: past the limit a write is refused, not queued', async () => {
    cluster = new HostCluster(['n1', 'n2', 'n3'], { pendingProposalsMax: 2 });
    violations = installDurabilityCheck(cluster);
    await cluster.elect('n1');
    cluster.isolated.add('n2');
    cluster.isolated.add('n3');
    const leader = cluster.node('n1').host;
    const a = track(leader.write({ op: 'put', key: 'a', value: '1' }));
    const b = track(leader.write({ op: 'put', key: 'b', value: '1' }));
    await expect(leader.write({ op: 'put', key: 'c', value: '1' })).rejects.toBeInstanceOf(UnavailableError);
    expect(leader.pendingWrites).toBe(2);
    expect([a.state, b.state]).toEqual(['pending', 'pending']);
  });

  it('a write not committed within the request timeout fails as CommitTimeoutError', async () => {
    await cluster.elect('n1');
    cluster.isolated.add('n2');
    cluster.isolated.add('n3');
    const leader = cluster.node('n1').host;
    const write = track(leader.write({ op: 'put', key: 'late', value: '1' }));
    await cluster.settle();
    cluster.clock.ms += TEST_HOST_OPTIONS.requestTimeoutMs - 1;
    leader.tick();
    await cluster.settle();
    expect(write.state).toBe('pending');
    cluster.clock.ms += 1;
    leader.tick();
    await cluster.settle();
    expect(write.state).toBe('rejected');
    expect(write.error).toBeInstanceOf(CommitTimeoutError);
    expect(cluster.node('n1').metrics.get('proposals_failed')).toBe(1);
  });

  it('a deposed leader fails its pending writes as outcome unknown; the new leader overwrites them', async () => {
    await cluster.elect('n1');
    cluster.isolated.add('n1');
    const write = track(cluster.node('n1').host.write({ op: 'put', key: 'lost', value: '1' }));
    await cluster.settle();
    expect(cluster.node('n1').storage.durableLastIndex).toBe(3);
    const newLeader = await cluster.electAmong(['n2', 'n3']);
    expect(write.state).toBe('pending');
    cluster.isolated.delete('n1');
    // The new leader's heartbeat tells n1 of the new term; n1 steps down.
    for (let k = 0; k < 5 && cluster.node('n1').host.raft.role === 'leader'; k++) await cluster.tickAll();
    expect(cluster.node('n1').host.raft.role).toBe('follower');
    expect(write.state).toBe('rejected');
    expect(write.error).toBeInstanceOf(CommitTimeoutError);
    await cluster.tickAll();
    expect(cluster.node('n1').host.stateMachine.get('lost')).toBeNull();
    expect(cluster.node('n1').host.applied).toBe(cluster.node(newLeader).host.applied);
  });
});

describe('RaftHost: linearizable reads (ReadIndex, thesis 6.4)', () => {
  it('a read barrier resolves after a quorum confirms leadership and the read index is applied', async () => {
    await cluster.elect('n1');
    const leader = cluster.node('n1').host;
    await Promise.all([leader.write({ op: 'put', key: 'r', value: '1' }), cluster.settle()]);
    const reads = [track(leader.readBarrier()), track(leader.readBarrier()), track(leader.readBarrier())];
    await new Promise((resolve) => setImmediate(resolve));
    expect(reads.map((r) => r.state)).toEqual(['pending', 'pending', 'pending']);
    await cluster.settle();
    expect(reads.map((r) => r.state)).toEqual(['resolved', 'resolved', 'resolved']);
    // Concurrent reads shared one request to the core (one context).
    expect(leader.pendingReadBarriers).toBe(0);
  });

  it('a leader cut off from its quorum never confirms a read: it times out', async () => {
    await cluster.elect('n1');
    cluster.isolated.add('n2');
    cluster.isolated.add('n3');
    const leader = cluster.node('n1').host;
    const read = track(leader.readBarrier());
    await cluster.settle();
    expect(read.state).toBe('pending');
    cluster.clock.ms += TEST_HOST_OPTIONS.requestTimeoutMs;
    leader.tick();
    await cluster.settle();
    expect(read.state).toBe('rejected');
    expect(read.error).toBeInstanceOf(CommitTimeoutError);
  });
});

describe('RaftHost: snapshots and leadership transfer', () => {
  it('snapshots every snapshotEntries applied entries, compacts, and catches a far-behind follower up by InstallSnapshot', async () => {
    cluster = new HostCluster(['n1', 'n2', 'n3'], { snapshotEntries: 5 });
    violations = installDurabilityCheck(cluster);
    await cluster.elect('n1');
    cluster.isolated.add('n3');
    const leader = cluster.node('n1');
    for (let k = 0; k < 12; k++) {
      const write = leader.host.write({ op: 'put', key: `k${k}`, value: `v${k}` });
      await cluster.settle();
      await write;
    }
    expect(leader.metrics.get('snapshots_taken')).toBeGreaterThanOrEqual(2);
    const latest = leader.storage.snapshots.latest();
    expect(latest?.meta.index).toBeGreaterThanOrEqual(10);
    expect(leader.storage.compactedTo).toBe(latest?.meta.index);
    // The core keeps the entries after the previous snapshot, for followers a little behind.
    expect(leader.host.raft.status().firstIndex).toBeGreaterThan(1);
    expect(leader.host.raft.status().firstIndex).toBeLessThanOrEqual((latest?.meta.index ?? 0) + 1);

    cluster.isolated.delete('n3');
    const n3 = cluster.node('n3');
    for (let k = 0; k < 10 && n3.host.applied < leader.host.applied; k++) await cluster.tickAll();
    expect(n3.metrics.get('snapshots_installed')).toBe(1);
    expect(n3.host.applied).toBe(leader.host.applied);
    expect(n3.host.stateMachine.list('', 100)).toEqual(leader.host.stateMachine.list('', 100));
  });

  it('takeSnapshot() snapshots the applied state now, and answers the same snapshot when nothing new was applied', async () => {
    await cluster.elect('n1');
    const leader = cluster.node('n1').host;
    await Promise.all([leader.write({ op: 'put', key: 'k', value: 'v' }), cluster.settle()]);
    const taken = await leader.takeSnapshot();
    expect(taken).toMatchObject({ index: leader.applied, term: leader.raft.term });
    expect(taken.bytes).toBeGreaterThan(0);
    expect(await leader.takeSnapshot()).toEqual(taken);
  });

  it('transferLeadership hands over to the named member and resolves once it leads', async () => {
    await cluster.elect('n1');
    const transfer = track(cluster.node('n1').host.transferLeadership('n3'));
    for (let k = 0; k < 10 && transfer.state === 'pending'; k++) await cluster.tickAll();
    expect(transfer.state).toBe('resolved');
    expect(transfer.value).toEqual({ from: 'n1', to: 'n3' });
    expect(cluster.node('n3').host.raft.role).toBe('leader');
  });
});
