import { describe, expect, it } from '@jest/globals';
import { Network, isType } from './harness.js';
import { Raft } from '../../src/consensus/core/raft.js';
import { Prng } from '../../src/consensus/core/prng.js';
import { PROTOCOL_VERSION } from '../../src/consensus/core/messages.js';

describe('elections (Raft §5.2)', () => {
  it('a 3-node cluster elects the campaigner after a PreVote round, then commits its noop', () => {
    const net = new Network(['n1', 'n2', 'n3']);
    net.campaign('n1');
    expect(net.raft('n1').role).toBe('pre-candidate');
    expect(net.raft('n1').term).toBe(0); // PreVote does not bump the term (thesis 9.6)
    expect(net.deliver()).toEqual([
      'n1->n2 RequestVote t1 pre last=0/0',
      'n1->n3 RequestVote t1 pre last=0/0',
    ]);
    expect(net.deliver()).toEqual([
      'n2->n1 RequestVoteResponse t1 pre granted',
      'n3->n1 RequestVoteResponse t1 pre granted',
    ]);
    expect(net.raft('n1').role).toBe('candidate');
    expect(net.raft('n1').term).toBe(1);
    expect(net.deliver()).toEqual(['n1->n2 RequestVote t1 last=0/0', 'n1->n3 RequestVote t1 last=0/0']);
    // The second grant is not needed: n1 wins on the first (quorum 2 of 3).
    expect(net.deliver()).toEqual(['n2->n1 RequestVoteResponse t1 granted', 'n3->n1 RequestVoteResponse t1 granted']);
    expect(net.raft('n1').role).toBe('leader');
    expect(net.raft('n2').vote).toBe('n1');
    expect(net.disks.get('n2')?.hardState).toEqual({ term: 1, vote: 'n1', commit: 0 });
    expect(net.deliver()).toEqual([
      'n1->n2 AppendEntries t1 prev=0/0 commit=0 entries=[1/1 noop]',
      'n1->n3 AppendEntries t1 prev=0/0 commit=0 entries=[1/1 noop]',
    ]);
    expect(net.deliver()).toEqual(['n2->n1 AppendEntriesResponse t1 ok match=1', 'n3->n1 AppendEntriesResponse t1 ok match=1']);
    expect(net.raft('n1').log.committed).toBe(1);
    net.stabilize();
    for (const id of net.ids) {
      expect(net.raft(id).log.committed).toBe(1);
      expect(net.raft(id).leaderId).toBe('n1');
      expect(net.logOf(id)).toEqual(['1/1']);
    }
  });

  it('a 5-node cluster elects a leader by ticking alone, with a single leader and agreeing followers', () => {
    const net = new Network(['n1', 'n2', 'n3', 'n4', 'n5'], { seed: 7 });
    for (let t = 0; t < 100 && net.leaders().length === 0; t++) {
      net.tickAll();
      net.stabilize();
    }
    const leaders = net.leaders();
    expect(leaders).toHaveLength(1);
    const leader = leaders[0] as string;
    const term = net.raft(leader).term;
    net.stabilize();
    for (const id of net.ids) {
      expect(net.raft(id).term).toBe(term);
      expect(net.raft(id).leaderId).toBe(leader);
      expect(net.raft(id).log.committed).toBe(1);
    }
  });

  it('a 5-node leader is elected with two nodes down (quorum 3)', () => {
    const net = new Network(['n1', 'n2', 'n3', 'n4', 'n5']);
    net.isolate('n4');
    net.isolate('n5');
    net.campaign('n1');
    net.stabilize();
    expect(net.raft('n1').role).toBe('leader');
    expect(net.raft('n1').log.committed).toBe(1);
    expect(net.raft('n4').log.lastIndex()).toBe(0);
  });

  it('a split vote gives no leader; randomized timeouts from the seeded PRNG resolve it', () => {
    const net = new Network(['n1', 'n2', 'n3', 'n4'], { node: { preVote: false } });
    net.campaign('n1');
    net.campaign('n2');
    // n3 hears n1 first, n4 hears n2 first: 2 of 4 votes each, quorum is 3.
    net.deliver((m) => (m.from === 'n1' && m.to === 'n3') || (m.from === 'n2' && m.to === 'n4'));
    net.stabilize();
    expect(net.leaders()).toEqual([]);
    expect(net.raft('n1').role).toBe('follower');
    expect(net.raft('n2').role).toBe('follower');
    expect(net.raft('n1').term).toBe(1);
    for (let t = 0; t < 200 && net.leaders().length === 0; t++) {
      net.tickAll();
      net.stabilize();
    }
    expect(net.leaders()).toHaveLength(1);
  });

  it('election timeouts are drawn from the injected PRNG in [min, max): same seed, same timeouts', () => {
    const draw = (seed: number): number[] => {
      const r = new Raft({
        id: 'n1',
        config: { voters: ['n1', 'n2', 'n3'] },
        heartbeatTicks: 1,
        electionTicksMin: 10,
        electionTicksMax: 20,
        random: new Prng(seed),
        preVote: false,
      });
      const timeouts: number[] = [];
      for (let k = 0; k < 50; k++) {
        let ticks = 0;
        const term = r.term;
        while (r.term === term) {
          r.tick();
          ticks++;
        }
        timeouts.push(ticks);
      }
      return timeouts;
    };
    const a = draw(42);
    expect(draw(42)).toEqual(a);
    expect(draw(43)).not.toEqual(a);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(10);
    expect(Math.max(...a)).toBeLessThan(20);
    expect(new Set(a).size).toBeGreaterThan(3);
  });

  it('refuses a vote to a candidate whose log is less up to date (§5.4.1), grants an equal one', () => {
    const net = new Network(['n1', 'n2', 'n3'], { node: { preVote: false } });
    net.campaign('n1');
    net.stabilize();
    net.propose('n1', 'x');
    net.stabilize();
    // n3 lags behind: it misses index 3.
    net.isolate('n3');
    net.propose('n1', 'y');
    net.stabilize();
    net.heal();
    const n2 = net.raft('n2');
    n2.step({ version: PROTOCOL_VERSION, type: 'RequestVote', from: 'n3', to: 'n2', term: 9, preVote: false, lastLogIndex: 2, lastLogTerm: 1, transfer: true });
    net.processReady('n2');
    expect(net.pending(isType('RequestVoteResponse'))).toEqual(['n2->n3 RequestVoteResponse t9 rejected']);
    expect(n2.vote).toBeNull();
    net.drop(() => true);
    n2.step({ version: PROTOCOL_VERSION, type: 'RequestVote', from: 'n1', to: 'n2', term: 10, preVote: false, lastLogIndex: 3, lastLogTerm: 1, transfer: true });
    net.processReady('n2');
    expect(net.pending(isType('RequestVoteResponse'))).toEqual(['n2->n1 RequestVoteResponse t10 granted']);
  });

  it('persists the vote before the grant leaves: the grant is in the same Ready as the hard state', () => {
    const net = new Network(['n1', 'n2', 'n3'], { node: { preVote: false } });
    net.campaign('n1');
    net.deliver(isType('RequestVote'));
    const rd = net.readies.get('n2')?.find((r) => r.messages.some((m) => m.type === 'RequestVoteResponse'));
    expect(rd?.hardState).toEqual({ term: 1, vote: 'n1', commit: 0 });
  });

  it('ignores messages of another protocol version or from a non-member', () => {
    const net = new Network(['n1', 'n2', 'n3'], { node: { preVote: false } });
    const n2 = net.raft('n2');
    const vote = { type: 'RequestVote', to: 'n2', term: 5, preVote: false, lastLogIndex: 0, lastLogTerm: 0, transfer: false } as const;
    n2.step({ ...vote, version: PROTOCOL_VERSION + 1, from: 'n1' });
    n2.step({ ...vote, version: PROTOCOL_VERSION, from: 'n9' });
    expect(n2.term).toBe(0);
    expect(n2.hasReady()).toBe(false);
  });
});
