import { describe, expect, it } from '@jest/globals';
import { Network, isType } from './harness.js';
import { PROTOCOL_VERSION } from '../../src/consensus/core/messages.js';
import { Raft } from '../../src/consensus/core/raft.js';
import { Prng } from '../../src/consensus/core/prng.js';
import { RaftInvariantError } from '../../src/consensus/core/invariant.js';

describe('restart from restore', () => {
  it('keeps term and vote: a restarted voter will not vote twice in a term', () => {
    const net = new Network(['n1', 'n2', 'n3'], { node: { preVote: false } });
    net.campaign('n1');
    net.deliver(isType('RequestVote')); // n2 and n3 vote for n1 in term 1
    net.queue = []; // ...but the grants are lost
    net.restart('n2');
    const n2 = net.raft('n2');
    expect(n2.term).toBe(1);
    expect(n2.vote).toBe('n1');
    n2.step({ version: PROTOCOL_VERSION, type: 'RequestVote', from: 'n3', to: 'n2', term: 1, preVote: false, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
    n2.step({ version: PROTOCOL_VERSION, type: 'RequestVote', from: 'n1', to: 'n2', term: 1, preVote: false, lastLogIndex: 0, lastLogTerm: 0, transfer: false });
    net.processReady('n2');
    expect(net.pending()).toEqual(['n2->n3 RequestVoteResponse t1 rejected', 'n2->n1 RequestVoteResponse t1 granted']);
    // Nothing new to persist: the restored hard state is not handed out again.
    expect(net.readies.get('n2')?.at(-1)?.hardState).toBeUndefined();
  });

  it('keeps the log and commit index; the cluster carries on after every node restarts', () => {
    const net = new Network(['n1', 'n2', 'n3']);
    net.campaign('n1');
    net.stabilize();
    for (const v of ['a', 'b', 'c']) net.propose('n1', v);
    net.stabilize();
    net.tickAll();
    net.stabilize();
    for (const id of net.ids) net.restart(id);
    for (const id of net.ids) {
      expect(net.raft(id).term).toBe(1);
      expect(net.raft(id).role).toBe('follower');
      expect(net.raft(id).log.lastIndex()).toBe(4);
      expect(net.raft(id).log.committed).toBe(4);
    }
    net.flush();
    expect(net.appliedCommands('n2')).toEqual(['a', 'b', 'c']);
    const leader = net.electAmong(net.ids);
    expect(net.raft(leader).term).toBeGreaterThanOrEqual(2);
    net.propose(leader, 'd');
    net.stabilize();
    for (const id of net.ids) expect(net.appliedCommands(id)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('refuses a restore whose commit index lies beyond its log (a lost log tail)', () => {
    const make = (): Raft =>
      new Raft({
        id: 'n1',
        config: { voters: ['n1', 'n2', 'n3'] },
        heartbeatTicks: 1,
        electionTicksMin: 10,
        electionTicksMax: 20,
        random: new Prng(1),
        restore: { hardState: { term: 2, vote: 'n1', commit: 5 }, entries: [{ index: 1, term: 1, type: 'noop', data: new Uint8Array(0) }] },
      });
    expect(make).toThrow(RaftInvariantError);
    expect(make).toThrow(/commit 5 outside/);
  });

  it('validates its options at construction, naming the option', () => {
    const base = { id: 'n1', config: { voters: ['n1'] }, heartbeatTicks: 5, electionTicksMin: 30, electionTicksMax: 50, random: new Prng(1) };
    expect(() => new Raft({ ...base, electionTicksMax: 30 })).toThrow(/electionTicksMax/);
    expect(() => new Raft({ ...base, heartbeatTicks: 30 })).toThrow(/electionTicksMin/);
    expect(() => new Raft({ ...base, maxInflightAppends: 0 })).toThrow(/maxInflightAppends/);
    expect(() => new Raft({ ...base, id: 'n9' })).toThrow(/not among the voters/);
  });
});
