/**
 * The leader's per-follower flow control (etcd-raft's Progress): probe (one append at a time)
 * until a follower's match is known, replicate (pipelined up to maxInflightAppends) after, and back
 * to probe when the pipeline breaks: a rejection, a send failure, or appends lost without trace.
 */
import { describe, expect, it } from '@jest/globals';
import { Network, TEST_NODE_DEFAULTS, isType } from './harness.js';
import type { Message } from '../../src/consensus/core/messages.js';

const appendsTo = (to: string) => (m: Message) => m.type === 'AppendEntries' && m.from === 'n1' && m.to === to && m.entries.length > 0;

function replicatingCluster(maxInflightAppends = 8): Network {
  const net = new Network(['n1', 'n2', 'n3'], { node: { maxInflightAppends, maxEntriesPerAppend: 1 } });
  net.campaign('n1');
  net.stabilize();
  expect(net.raft('n1').status().progress['n2']?.state).toBe('replicate');
  return net;
}

describe('pipelining and probe mode (Raft §5.3, etcd-raft Progress)', () => {
  it('a lost append breaks the pipeline: the first rejection sends the leader back to probe from match+1, later ones are stale', () => {
    const net = replicatingCluster();
    const leader = net.raft('n1');
    for (const v of ['a', 'b', 'c', 'd']) net.propose('n1', v);
    expect(net.pending(appendsTo('n2'))).toEqual([
      'n1->n2 AppendEntries t1 prev=1/1 commit=1 entries=[2/1 "a"]',
      'n1->n2 AppendEntries t1 prev=2/1 commit=1 entries=[3/1 "b"]',
      'n1->n2 AppendEntries t1 prev=3/1 commit=1 entries=[4/1 "c"]',
      'n1->n2 AppendEntries t1 prev=4/1 commit=1 entries=[5/1 "d"]',
    ]);
    expect(leader.status().progress['n2']?.inflight).toBe(4);
    net.drop((m) => m.to === 'n2' && m.type === 'AppendEntries' && m.prevLogIndex === 1);
    net.deliver((m) => m.to === 'n2');
    // n2 holds only index 1: each later append leaves a gap and is rejected.
    expect(net.pending((m) => m.from === 'n2')).toEqual([
      'n2->n1 AppendEntriesResponse t1 reject at=2 hint=1/1',
      'n2->n1 AppendEntriesResponse t1 reject at=3 hint=1/1',
      'n2->n1 AppendEntriesResponse t1 reject at=4 hint=1/1',
    ]);
    net.deliver((m) => m.from === 'n2');
    const n2 = leader.status().progress['n2'];
    expect(n2?.state).toBe('probe');
    expect(n2?.inflight).toBe(0);
    // One probe from match+1, not one per rejection (n3's acks are not delivered yet: commit=1).
    expect(net.pending(appendsTo('n2'))).toEqual(['n1->n2 AppendEntries t1 prev=1/1 commit=1 entries=[2/1 "a"]']);
    // Its ack returns the follower to replicate, and the rest is pipelined again.
    net.deliver((m) => m.to === 'n2');
    net.deliver((m) => m.from === 'n2');
    expect(leader.status().progress['n2']?.state).toBe('replicate');
    expect(net.pending(appendsTo('n2'))).toHaveLength(3);
    net.stabilize();
    expect(net.appliedCommands('n2')).toEqual(['a', 'b', 'c', 'd']);
  });

  it('in probe mode, proposals wait for the outstanding probe instead of piling up', () => {
    const net = replicatingCluster();
    const leader = net.raft('n1');
    leader.reportUnreachable('n2');
    for (const v of ['a', 'b', 'c']) net.propose('n1', v);
    expect(net.pending(appendsTo('n2'))).toEqual(['n1->n2 AppendEntries t1 prev=1/1 commit=1 entries=[2/1 "a"]']);
    // n3 is still replicating: every proposal went out to it at once.
    expect(net.pending(appendsTo('n3'))).toHaveLength(3);
    net.stabilize();
    expect(leader.status().progress['n2']?.state).toBe('replicate');
    expect(net.appliedCommands('n2')).toEqual(['a', 'b', 'c']);
  });

  it('a full window sends nothing more until acks free it, whatever is proposed meanwhile', () => {
    const net = replicatingCluster(2);
    const leader = net.raft('n1');
    for (let k = 0; k < 6; k++) net.propose('n1', `v${k}`);
    expect(net.pending(appendsTo('n2'))).toHaveLength(2);
    // Heartbeats keep flowing while the window is full.
    net.tick('n1', TEST_NODE_DEFAULTS.heartbeatTicks);
    expect(net.pending(isType('Heartbeat')).some((d) => d.startsWith('n1->n2'))).toBe(true);
    expect(net.pending(appendsTo('n2'))).toHaveLength(2);
    // One ack frees one slot, which the next entry takes at once.
    net.deliver((m) => m === net.queue.find(appendsTo('n2')));
    net.deliver((m) => m.from === 'n2' && m.type === 'AppendEntriesResponse');
    expect(leader.status().progress['n2']?.match).toBe(2);
    expect(leader.status().progress['n2']?.inflight).toBe(2);
    expect(net.pending(appendsTo('n2')).map((d) => d.split(' entries=')[1])).toEqual(['[3/1 "v1"]', '[4/1 "v2"]']);
    net.stabilize();
    expect(net.appliedCommands('n2')).toHaveLength(6);
  });

  it('a heartbeat reply racing a fresh append does not send the follower back to probe', () => {
    const net = replicatingCluster();
    const leader = net.raft('n1');
    // Idle heartbeat rounds: match is stable and nothing is in flight.
    for (let k = 0; k < 3; k++) {
      net.tick('n1', TEST_NODE_DEFAULTS.heartbeatTicks);
      net.stabilize();
    }
    net.tick('n1', TEST_NODE_DEFAULTS.heartbeatTicks);
    net.deliver(isType('Heartbeat'));
    net.propose('n1', 'x'); // its append and the heartbeat replies cross
    net.deliver(isType('HeartbeatResponse'));
    expect(leader.status().progress['n2']?.state).toBe('replicate');
    // No duplicate of the append in flight.
    expect(net.pending(appendsTo('n2'))).toEqual(['n1->n2 AppendEntries t1 prev=1/1 commit=1 entries=[2/1 "x"]']);
  });

  it('appends lost with nothing after them are re-sent once a whole heartbeat round passes without an ack', () => {
    const net = replicatingCluster();
    const leader = net.raft('n1');
    net.propose('n1', 'x');
    expect(net.drop(appendsTo('n2'))).toBe(1);
    // First heartbeat round: the append may just be slow.
    net.tick('n1', TEST_NODE_DEFAULTS.heartbeatTicks);
    net.deliver(isType('Heartbeat'));
    net.deliver(isType('HeartbeatResponse'));
    expect(leader.status().progress['n2']?.state).toBe('replicate');
    expect(net.pending(appendsTo('n2'))).toEqual([]);
    // Second round, still no ack: presumed lost, re-probed from match+1.
    net.tick('n1', TEST_NODE_DEFAULTS.heartbeatTicks);
    net.deliver(isType('Heartbeat'));
    net.deliver(isType('HeartbeatResponse'));
    expect(leader.status().progress['n2']?.state).toBe('probe');
    expect(net.pending(appendsTo('n2'))).toEqual(['n1->n2 AppendEntries t1 prev=1/1 commit=1 entries=[2/1 "x"]']);
    net.stabilize();
    expect(net.appliedCommands('n2')).toEqual(['x']);
    expect(leader.status().progress['n2']?.state).toBe('replicate');
  });
});
