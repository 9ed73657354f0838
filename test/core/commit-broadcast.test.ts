/**
 * How followers learn a commit index (Raft §5.3: "the leader keeps track of the highest index it
 * knows to be committed, and it includes that index in future AppendEntries RPCs"). With
 * deferCommitOnlyAppends (the default), a commit that leaves a follower nothing new to append is
 * sent on the leader's next tick, or with the next append that carries entries, never as an extra
 * empty AppendEntries right away: one append and one answer per follower per write.
 */
import { describe, expect, it } from '@jest/globals';
import { Network } from './harness.js';
import type { Message } from '../../src/consensus/core/messages.js';

const fromLeader = (m: Message) => m.from === 'n1';
const appends = (m: Message) => m.type === 'AppendEntries' && m.from === 'n1';

function deferredCluster(): Network {
  // A heartbeat period long enough that a single tick does not also send heartbeats.
  const net = new Network(['n1', 'n2', 'n3'], { node: { deferCommitOnlyAppends: true, heartbeatTicks: 5, electionTicksMin: 10, electionTicksMax: 20 } });
  net.campaign('n1');
  net.stabilize();
  net.tickAll(); // the noop's commit reaches the followers
  net.stabilize();
  expect(net.raft('n2').log.committed).toBe(1);
  return net;
}

describe('commit broadcast (Raft §5.3), deferred to the tick or the next append', () => {
  it('a write costs one append and one answer per follower: the leader commits and applies, followers learn the commit later', () => {
    const net = deferredCluster();
    net.propose('n1', 'a');
    expect(net.deliver(fromLeader)).toEqual([
      'n1->n2 AppendEntries t1 prev=1/1 commit=1 entries=[2/1 "a"]',
      'n1->n3 AppendEntries t1 prev=1/1 commit=1 entries=[2/1 "a"]',
    ]);
    net.deliver((m) => m.to === 'n1');
    // The leader committed and applied index 2 on the followers' answers...
    expect(net.raft('n1').log.committed).toBe(2);
    expect(net.appliedCommands('n1')).toEqual(['a']);
    // ...and sends nothing more: no empty append just for the commit index.
    expect(net.pending()).toEqual([]);
    expect(net.raft('n2').log.committed).toBe(1);
    expect(net.appliedCommands('n2')).toEqual([]);
  });

  it('the next append carries the commit index', () => {
    const net = deferredCluster();
    net.propose('n1', 'a');
    net.stabilize();
    net.propose('n1', 'b');
    expect(net.pending(appends)).toEqual([
      'n1->n2 AppendEntries t1 prev=2/1 commit=2 entries=[3/1 "b"]',
      'n1->n3 AppendEntries t1 prev=2/1 commit=2 entries=[3/1 "b"]',
    ]);
    net.deliver(fromLeader);
    expect(net.appliedCommands('n2')).toEqual(['a']);
  });

  it('with no further write, the leader\'s next tick sends the commit index once to each follower lacking it', () => {
    const net = deferredCluster();
    net.propose('n1', 'a');
    net.stabilize();
    net.tick('n1');
    expect(net.pending(appends)).toEqual([
      'n1->n2 AppendEntries t1 prev=2/1 commit=2 entries=[]',
      'n1->n3 AppendEntries t1 prev=2/1 commit=2 entries=[]',
    ]);
    net.stabilize();
    expect(net.appliedCommands('n2')).toEqual(['a']);
    expect(net.appliedCommands('n3')).toEqual(['a']);
    // Already told: later ticks (short of a heartbeat) send nothing.
    net.tick('n1');
    expect(net.pending()).toEqual([]);
  });

  it('a follower whose answer was lost is sent the commit index on the tick all the same', () => {
    const net = deferredCluster();
    net.propose('n1', 'a');
    net.deliver(fromLeader);
    // Only n2's answer reaches the leader: index 2 commits (n1 + n2); n3's answer is lost.
    net.deliver((m) => m.from === 'n2');
    net.drop((m) => m.from === 'n3');
    expect(net.raft('n1').log.committed).toBe(2);
    net.tick('n1');
    // The leader's view of n3 (next=3) makes prevLogIndex 2: n3 applies it only if its log matches there.
    expect(net.pending(appends)).toEqual([
      'n1->n2 AppendEntries t1 prev=2/1 commit=2 entries=[]',
      'n1->n3 AppendEntries t1 prev=2/1 commit=2 entries=[]',
    ]);
    net.stabilize();
    expect(net.appliedCommands('n3')).toEqual(['a']);
  });

  it('heartbeats still carry the commit index, capped at what each follower holds', () => {
    const net = deferredCluster();
    net.propose('n1', 'a');
    net.deliver(fromLeader);
    net.deliver((m) => m.from === 'n2');
    net.drop((m) => m.from === 'n3');
    net.drop(() => true);
    net.tick('n1', 5);
    const heartbeats = net.pending((m) => m.type === 'Heartbeat');
    expect(heartbeats).toEqual(['n1->n2 Heartbeat t1 commit=2 ctx=0', 'n1->n3 Heartbeat t1 commit=1 ctx=0']);
  });
});
