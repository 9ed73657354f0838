import { describe, expect, it } from '@jest/globals';
import { Network, TEST_NODE_DEFAULTS, isType } from './harness.js';

describe('leadership transfer (Raft thesis 3.10)', () => {
  it('brings a lagging target up to date, sends TimeoutNow, and the target wins the next term', () => {
    const net = new Network(['n1', 'n2', 'n3']);
    net.campaign('n1');
    net.stabilize();
    net.isolate('n3');
    net.propose('n1', 'a');
    net.propose('n1', 'b');
    net.stabilize();
    net.heal();
    const leader = net.raft('n1');
    expect(leader.transferLeadership('n3')).toEqual({ ok: true, target: 'n3' });
    // While transferring, proposals are refused so the target can catch up.
    expect(net.propose('n1', 'c')).toEqual({ ok: false, reason: 'transferring', leaderId: 'n1' });
    expect(net.pending(isType('TimeoutNow'))).toEqual([]);
    const trace: string[] = [];
    for (let round = 0; round < 20 && net.queue.length > 0; round++) trace.push(...net.deliver());
    const timeoutNowAt = trace.indexOf('n1->n3 TimeoutNow t1');
    expect(timeoutNowAt).toBeGreaterThan(trace.indexOf('n3->n1 AppendEntriesResponse t1 ok match=3'));
    expect(trace).toContain('n3->n1 RequestVote t2 transfer last=3/1');
    expect(net.raft('n3').role).toBe('leader');
    expect(net.raft('n3').term).toBe(2);
    expect(leader.role).toBe('follower');
    expect(leader.leaderId).toBe('n3');
    expect(net.propose('n3', 'c').ok).toBe(true);
    net.stabilize();
    expect(net.appliedCommands('n1')).toEqual(['a', 'b', 'c']);
  });

  it('picks the most up-to-date follower when no target is given', () => {
    const net = new Network(['n1', 'n2', 'n3']);
    net.campaign('n1');
    net.stabilize();
    net.isolate('n2');
    net.propose('n1', 'a');
    net.stabilize();
    net.heal();
    expect(net.raft('n1').transferLeadership()).toEqual({ ok: true, target: 'n3' });
    net.stabilize();
    expect(net.leaders()).toEqual(['n3']);
  });

  it('is abandoned after an election timeout if the target does not take over', () => {
    const net = new Network(['n1', 'n2', 'n3']);
    net.campaign('n1');
    net.stabilize();
    net.isolate('n3');
    const leader = net.raft('n1');
    expect(leader.transferLeadership('n3').ok).toBe(true);
    expect(leader.status().leadTransferee).toBe('n3');
    for (let k = 0; k < TEST_NODE_DEFAULTS.electionTicksMin; k++) {
      net.tick('n1');
      net.tick('n2');
      net.stabilize();
    }
    expect(leader.role).toBe('leader');
    expect(leader.status().leadTransferee).toBeNull();
    expect(net.propose('n1', 'after').ok).toBe(true);
  });

  it('is still in progress one tick before the election timeout and abandoned at it', () => {
    const net = new Network(['n1', 'n2', 'n3']);
    net.campaign('n1');
    net.stabilize();
    net.isolate('n3');
    const leader = net.raft('n1');
    // Start the transfer mid-way through a CheckQuorum period: its timeout is its own.
    net.tick('n1', 3);
    net.stabilize();
    leader.transferLeadership('n3');
    for (let k = 0; k < TEST_NODE_DEFAULTS.electionTicksMin - 1; k++) {
      net.tick('n1');
      net.tick('n2');
      net.stabilize();
    }
    expect(leader.status().leadTransferee).toBe('n3');
    expect(net.propose('n1', 'during')).toEqual({ ok: false, reason: 'transferring', leaderId: 'n1' });
    net.tick('n1');
    expect(leader.status().leadTransferee).toBeNull();
    expect(leader.role).toBe('leader');
    expect(net.propose('n1', 'after').ok).toBe(true);
  });

  it('a lost TimeoutNow is sent again on the target\'s next heartbeat reply', () => {
    const net = new Network(['n1', 'n2', 'n3']);
    net.campaign('n1');
    net.stabilize();
    const leader = net.raft('n1');
    // n3 is up to date: TimeoutNow goes out at once.
    expect(leader.transferLeadership('n3')).toEqual({ ok: true, target: 'n3' });
    net.processReady('n1');
    expect(net.pending(isType('TimeoutNow'))).toEqual(['n1->n3 TimeoutNow t1']);
    net.drop(isType('TimeoutNow'));
    net.tick('n1', TEST_NODE_DEFAULTS.heartbeatTicks);
    net.deliver(isType('Heartbeat'));
    expect(net.deliver(isType('HeartbeatResponse'))).toContain('n3->n1 HeartbeatResponse t1 ctx=0');
    expect(net.pending(isType('TimeoutNow'))).toEqual(['n1->n3 TimeoutNow t1']);
    net.stabilize();
    expect(net.leaders()).toEqual(['n3']);
    expect(net.raft('n3').term).toBe(2);
  });

  it('transfer requests do not postpone CheckQuorum: a cut-off leader still steps down', () => {
    const net = new Network(['n1', 'n2', 'n3']);
    net.campaign('n1');
    net.stabilize();
    net.isolate('n1');
    const leader = net.raft('n1');
    let ticks = 0;
    while (leader.role === 'leader' && ticks < 10 * TEST_NODE_DEFAULTS.electionTicksMin) {
      // An operator keeps retrying a transfer to alternating targets.
      if (ticks % 4 === 0) leader.transferLeadership(ticks % 8 === 0 ? 'n2' : 'n3');
      net.tick('n1');
      ticks++;
    }
    expect(leader.role).toBe('follower');
    expect(ticks).toBeLessThanOrEqual(2 * TEST_NODE_DEFAULTS.electionTicksMin);
  });

  it('refuses on a follower, to itself, or to a non-member', () => {
    const net = new Network(['n1', 'n2', 'n3']);
    net.campaign('n1');
    net.stabilize();
    expect(net.raft('n2').transferLeadership('n3')).toEqual({ ok: false, reason: 'not_leader' });
    expect(net.raft('n1').transferLeadership('n1')).toEqual({ ok: false, reason: 'already_leader', target: 'n1' });
    expect(net.raft('n1').transferLeadership('n9')).toEqual({ ok: false, reason: 'not_a_member', target: 'n9' });
  });
});
