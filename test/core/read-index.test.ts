import { describe, expect, it } from '@jest/globals';
import { Network, TEST_NODE_DEFAULTS, isType } from './harness.js';

describe('ReadIndex (Raft thesis 6.4)', () => {
  it('a read is released once a quorum acknowledged a heartbeat round sent after it arrived', () => {
    const net = new Network(['n1', 'n2', 'n3']);
    net.campaign('n1');
    net.stabilize();
    net.propose('n1', 'w');
    net.stabilize();
    const leader = net.raft('n1');
    expect(leader.readIndex('r1')).toEqual({ ok: true });
    net.processReady('n1');
    expect(net.pending()).toEqual(['n1->n2 Heartbeat t1 commit=2 ctx=1', 'n1->n3 Heartbeat t1 commit=2 ctx=1']);
    expect(net.readStates.get('n1')).toEqual([]);
    net.deliver((m) => m.to === 'n2');
    expect(net.deliver((m) => m.from === 'n2')).toEqual(['n2->n1 HeartbeatResponse t1 ctx=1']);
    // n1 and n2 are a quorum of 3.
    expect(net.readStates.get('n1')).toEqual([{ context: 'r1', index: 2 }]);
  });

  it('batches concurrent reads into one round', () => {
    const net = new Network(['n1', 'n2', 'n3']);
    net.campaign('n1');
    net.stabilize();
    const leader = net.raft('n1');
    leader.readIndex('a');
    leader.readIndex('b');
    leader.readIndex('c');
    net.processReady('n1');
    expect(net.pending(isType('Heartbeat'))).toEqual(['n1->n2 Heartbeat t1 commit=1 ctx=1', 'n1->n3 Heartbeat t1 commit=1 ctx=1']);
    net.stabilize();
    expect(net.readStates.get('n1')).toEqual([
      { context: 'a', index: 1 },
      { context: 'b', index: 1 },
      { context: 'c', index: 1 },
    ]);
    // A read after the round went out needs a new round.
    leader.readIndex('d');
    net.processReady('n1');
    expect(net.pending(isType('Heartbeat'))).toEqual(['n1->n2 Heartbeat t1 commit=1 ctx=2', 'n1->n3 Heartbeat t1 commit=1 ctx=2']);
    net.stabilize();
    expect(net.readStates.get('n1')?.map((s) => s.context)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('a new leader holds reads until it committed an entry of its own term', () => {
    const net = new Network(['n1', 'n2', 'n3']);
    net.campaign('n1');
    for (let k = 0; k < 4; k++) net.deliver(isType('RequestVote', 'RequestVoteResponse'));
    const leader = net.raft('n1');
    expect(leader.role).toBe('leader');
    expect(leader.log.committed).toBe(0);
    expect(leader.readIndex('early')).toEqual({ ok: true });
    net.processReady('n1');
    expect(net.pending(isType('Heartbeat'))).toEqual([]);
    net.stabilize();
    expect(leader.log.committed).toBe(1);
    // Index 1 is the noop of its term: the read index is the commit index once it is known current.
    expect(net.readStates.get('n1')).toEqual([{ context: 'early', index: 1 }]);
  });

  it('a deposed leader cut off from the quorum holds the read and never releases it; then refuses', () => {
    const net = new Network(['n1', 'n2', 'n3'], { seed: 9 });
    net.campaign('n1');
    net.stabilize();
    net.isolate('n1');
    const newLeader = net.electAmong(['n2', 'n3']);
    net.propose(newLeader, 'newer');
    net.stabilize();
    const stale = net.raft('n1');
    expect(stale.role).toBe('leader');
    expect(stale.readIndex('stale-read')).toEqual({ ok: true });
    for (let k = 0; k < 5; k++) net.tick('n1');
    net.deliver();
    expect(net.readStates.get('n1')).toEqual([]); // held: no quorum answers
    net.heal();
    net.tick('n1');
    net.stabilize();
    expect(stale.role).toBe('follower');
    expect(net.readStates.get('n1')).toEqual([]); // dropped with the leadership
    net.tick(newLeader); // its next heartbeat tells n1 who leads
    net.stabilize();
    expect(stale.readIndex('again')).toEqual({ ok: false, reason: 'not_leader', leaderId: newLeader });
  });

  it('a stale leader still acknowledged by a minority never releases a read; the new leader does', () => {
    const net = new Network(['n1', 'n2', 'n3', 'n4', 'n5'], { seed: 11 });
    net.campaign('n1');
    net.stabilize();
    // {n1, n2} | {n3, n4, n5}: the majority side elects a new leader and commits a write.
    for (const a of ['n1', 'n2']) for (const b of ['n3', 'n4', 'n5']) net.cut(a, b);
    const newLeader = net.electAmong(['n3', 'n4', 'n5']);
    net.propose(newLeader, 'newer');
    net.stabilize();
    const stale = net.raft('n1');
    expect(stale.role).toBe('leader');
    expect(stale.readIndex('stale-read')).toEqual({ ok: true });
    net.processReady('n1');
    // n2 has not heard of the new term and acknowledges the round: 2 of 5 is no quorum.
    net.deliver((m) => m.from === 'n1');
    expect(net.deliver((m) => m.from === 'n2')).toEqual(['n2->n1 HeartbeatResponse t1 ctx=1']);
    net.stabilize();
    expect(net.readStates.get('n1')).toEqual([]);
    // Reading 'newer' on n1 would be stale: the read at n1's commit index must never be served.
    expect(stale.log.committed).toBeLessThan(net.raft(newLeader).log.committed);
    const fresh = net.raft(newLeader);
    expect(fresh.readIndex('fresh-read')).toEqual({ ok: true });
    net.stabilize();
    expect(net.readStates.get(newLeader)).toEqual([{ context: 'fresh-read', index: fresh.log.committed }]);
    // Healed, n1 learns the new term from the answers to its heartbeats: the read is dropped.
    net.heal();
    net.tick('n1', TEST_NODE_DEFAULTS.heartbeatTicks);
    net.stabilize();
    expect(stale.role).toBe('follower');
    expect(net.readStates.get('n1')).toEqual([]);
    expect(stale.readIndex('again')).toEqual({ ok: false, reason: 'not_leader', leaderId: null });
  });

  it('heartbeat acknowledgements from an older round do not confirm a newer one', () => {
    const net = new Network(['n1', 'n2', 'n3']);
    net.campaign('n1');
    net.stabilize();
    const leader = net.raft('n1');
    leader.readIndex('first');
    net.processReady('n1');
    net.deliver(isType('Heartbeat')); // followers answer ctx=1, answers still queued
    leader.readIndex('second');
    net.processReady('n1');
    net.deliver(isType('HeartbeatResponse')); // ctx=1 answers arrive
    expect(net.readStates.get('n1')?.map((s) => s.context)).toEqual(['first']);
    net.stabilize();
    expect(net.readStates.get('n1')?.map((s) => s.context)).toEqual(['first', 'second']);
  });

  it('a single-node cluster answers at once', () => {
    const net = new Network(['n1']);
    net.campaign('n1');
    net.stabilize();
    expect(net.raft('n1').role).toBe('leader');
    net.raft('n1').readIndex('solo');
    net.processReady('n1');
    expect(net.readStates.get('n1')).toEqual([{ context: 'solo', index: 1 }]);
  });
});
