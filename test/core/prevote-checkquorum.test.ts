import { describe, expect, it } from '@jest/globals';
import { Network, TEST_NODE_DEFAULTS, isType } from './harness.js';
import { PROTOCOL_VERSION } from '../../src/consensus/core/messages.js';

const electionTicksMax = TEST_NODE_DEFAULTS.electionTicksMax;

function electN1(net: Network): void {
  net.campaign('n1');
  net.stabilize();
  expect(net.raft('n1').role).toBe('leader');
}

/** Ticks every node `times` times, delivering everything after each tick. */
function run(net: Network, times: number): void {
  for (let k = 0; k < times; k++) {
    net.tickAll();
    net.stabilize();
  }
}

describe('PreVote and CheckQuorum (Raft thesis 9.6, 6.2)', () => {
  it('a partitioned follower keeps its term while campaigning, and rejoins without deposing the leader', () => {
    const net = new Network(['n1', 'n2', 'n3'], { seed: 3 });
    electN1(net);
    net.isolate('n3');
    run(net, electionTicksMax * 5);
    // n3 timed out again and again but, failing its pre-votes, never bumped its term.
    expect(net.readies.get('n3')?.some((rd) => rd.softState?.role === 'pre-candidate')).toBe(true);
    expect(net.raft('n3').term).toBe(1);
    expect(net.raft('n1').role).toBe('leader');
    net.heal();
    run(net, electionTicksMax * 3);
    expect(net.leaders()).toEqual(['n1']);
    for (const id of net.ids) expect(net.raft(id).term).toBe(1);
    expect(net.raft('n3').leaderId).toBe('n1');
  });

  it('without PreVote the same rejoin forces a new election (what PreVote prevents)', () => {
    const net = new Network(['n1', 'n2', 'n3'], { seed: 3, node: { preVote: false } });
    electN1(net);
    net.isolate('n3');
    run(net, electionTicksMax * 5);
    expect(net.raft('n3').term).toBeGreaterThan(1);
    net.heal();
    run(net, electionTicksMax * 3);
    // n3's higher term reaches n1 (through its answer to n1's heartbeat) and deposes it.
    expect(net.raft('n1').term).toBeGreaterThan(1);
  });

  it('a node that heard from its leader within the election timeout ignores a vote or pre-vote request', () => {
    const net = new Network(['n1', 'n2', 'n3']);
    electN1(net);
    const n2 = net.raft('n2');
    for (const preVote of [true, false]) {
      n2.step({ version: PROTOCOL_VERSION, type: 'RequestVote', from: 'n3', to: 'n2', term: 5, preVote, lastLogIndex: 9, lastLogTerm: 5, transfer: false });
    }
    expect(n2.term).toBe(1);
    expect(n2.vote).toBe('n1');
    net.processReady('n2');
    expect(net.pending(isType('RequestVoteResponse'))).toEqual([]);
    // Once the lease ran out (no leader contact for electionTicksMin ticks) it answers.
    net.isolate('n1');
    net.tick('n2', TEST_NODE_DEFAULTS.electionTicksMin - 1); // below its own (randomized) timeout
    expect(n2.role).toBe('follower');
    n2.step({ version: PROTOCOL_VERSION, type: 'RequestVote', from: 'n3', to: 'n2', term: 5, preVote: true, lastLogIndex: 9, lastLogTerm: 5, transfer: false });
    net.processReady('n2');
    // Still within the lease (elapsed < electionTicksMin): ignored.
    expect(net.pending(isType('RequestVoteResponse'))).toEqual([]);
    net.tick('n2', 1);
    // This seed drew n2 a timeout above electionTicksMin, so it is still a follower, past its lease.
    expect(n2.role).toBe('follower');
    n2.step({ version: PROTOCOL_VERSION, type: 'RequestVote', from: 'n3', to: 'n2', term: 5, preVote: true, lastLogIndex: 9, lastLogTerm: 5, transfer: false });
    net.processReady('n2');
    expect(net.pending(isType('RequestVoteResponse'))).toEqual(['n2->n3 RequestVoteResponse t5 pre granted']);
    expect(n2.term).toBe(1); // a pre-vote grant binds nothing
  });

  it('a transfer request (TimeoutNow campaign) is answered despite the lease', () => {
    const net = new Network(['n1', 'n2', 'n3']);
    electN1(net);
    const n2 = net.raft('n2');
    n2.step({ version: PROTOCOL_VERSION, type: 'RequestVote', from: 'n3', to: 'n2', term: 2, preVote: false, lastLogIndex: 1, lastLogTerm: 1, transfer: true });
    net.processReady('n2');
    expect(net.pending(isType('RequestVoteResponse'))).toEqual(['n2->n3 RequestVoteResponse t2 granted']);
    expect(n2.term).toBe(2);
  });

  it('a leader that loses its quorum steps down within an election timeout (CheckQuorum)', () => {
    const net = new Network(['n1', 'n2', 'n3', 'n4', 'n5']);
    electN1(net);
    net.isolate('n3');
    net.isolate('n4');
    net.isolate('n5');
    // n2 still answers: 2 of 5 is no quorum.
    let ticks = 0;
    while (net.raft('n1').role === 'leader' && ticks < 3 * TEST_NODE_DEFAULTS.electionTicksMin) {
      net.tick('n1');
      net.tick('n2');
      net.deliver();
      ticks++;
    }
    expect(net.raft('n1').role).toBe('follower');
    expect(net.raft('n1').leaderId).toBeNull();
    expect(net.raft('n1').term).toBe(1);
    // At most two CheckQuorum periods: the first may have started before the cut.
    expect(ticks).toBeLessThanOrEqual(2 * TEST_NODE_DEFAULTS.electionTicksMin);
    expect(net.propose('n1', 'x')).toEqual({ ok: false, reason: 'not_leader', leaderId: null });
  });

  it('a leader hearing from a quorum keeps leading across many election timeouts', () => {
    const net = new Network(['n1', 'n2', 'n3', 'n4', 'n5']);
    electN1(net);
    net.isolate('n4');
    net.isolate('n5');
    for (let k = 0; k < 10 * TEST_NODE_DEFAULTS.electionTicksMin; k++) {
      for (const id of ['n1', 'n2', 'n3']) net.tick(id);
      net.stabilize();
    }
    expect(net.raft('n1').role).toBe('leader');
    expect(net.raft('n1').term).toBe(1);
  });

  it('a stale leader learns the new term from the answer to its heartbeat and steps down', () => {
    const net = new Network(['n1', 'n2', 'n3'], { seed: 5 });
    electN1(net);
    net.isolate('n1');
    const newLeader = net.electAmong(['n2', 'n3']);
    expect(net.raft(newLeader).term).toBe(2);
    expect(net.raft('n1').role).toBe('leader'); // cut off and not ticked, it does not know yet
    net.heal();
    net.tick('n1', TEST_NODE_DEFAULTS.heartbeatTicks);
    expect(net.deliver(isType('Heartbeat')).length).toBeGreaterThan(0);
    expect(net.pending((m) => m.to === 'n1')).toContain(`${newLeader}->n1 AppendEntriesResponse t2 reject (term only)`);
    net.deliver();
    expect(net.raft('n1').role).toBe('follower');
    expect(net.raft('n1').term).toBe(2);
    net.stabilize();
    expect(net.leaders()).toEqual([newLeader]);
  });
});
