import { describe, expect, it } from '@jest/globals';
import { Network, TEST_NODE_DEFAULTS, between, diskWithTerms, isType, type Disk } from './harness.js';
import { Raft } from '../../src/consensus/core/raft.js';
import { Prng } from '../../src/consensus/core/prng.js';
import { describeEntry } from '../../src/consensus/core/describe.js';
import type { Message } from '../../src/consensus/core/messages.js';

const appendsWithEntries = (from: string, to: string) => (m: Message) =>
  m.type === 'AppendEntries' && m.from === from && m.to === to && m.entries.length > 0;

describe('log replication (Raft §5.3)', () => {
  it('figure 7: the leader brings followers with missing and extra entries in line with its log', () => {
    const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const followers: Record<string, number[]> = {
      a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
      b: [1, 1, 1, 4],
      c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
      d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
      e: [1, 1, 1, 4, 4, 4, 4],
      f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    };
    const disks = new Map<string, Disk>([['L', diskWithTerms(leaderLog, { term: 7 })]]);
    for (const [id, terms] of Object.entries(followers)) disks.set(id, diskWithTerms(terms, { term: 7 }));
    const net = new Network(['L', 'a', 'b', 'c', 'd', 'e', 'f'], { disks });
    net.campaign('L');
    net.stabilize();
    const leader = net.raft('L');
    expect(leader.role).toBe('leader');
    expect(leader.term).toBe(8);
    // Its noop of term 8 commits, and with it (log matching) every earlier entry.
    const expected = [...leaderLog, 8];
    expect(leader.log.committed).toBe(11);
    for (const id of Object.keys(followers)) {
      expect({ id, terms: net.termsOf(id) }).toEqual({ id, terms: expected });
      expect(net.raft(id).log.committed).toBe(11);
    }
    // Extra uncommitted entries (c's 11/6, d's 11/7 and 12/7) were truncated, not applied.
    expect(net.applied.get('d')?.map((e) => `${e.index}/${e.term}`)).toEqual(expected.map((t, k) => `${k + 1}/${t}`));
  });

  it("figure 8: a previous term's entry on a majority is not committed by counting replicas", () => {
    // State (c) of figure 8: S1 (leader of term 2) got index 2 onto S2; S5 (term 3) wrote its own index 2.
    const disks = new Map<string, Disk>([
      ['s1', diskWithTerms([1, 2], { term: 3, commit: 1 })],
      ['s2', diskWithTerms([1, 2], { term: 3, commit: 1 })],
      ['s3', diskWithTerms([1], { term: 3, commit: 1 })],
      ['s4', diskWithTerms([1], { term: 3, commit: 1 })],
      ['s5', diskWithTerms([1, 3], { term: 3, commit: 1 })],
    ]);
    const net = new Network(['s1', 's2', 's3', 's4', 's5'], { disks, node: { maxEntriesPerAppend: 1 } });
    net.campaign('s1');
    for (let k = 0; k < 4; k++) net.deliver(isType('RequestVote', 'RequestVoteResponse'));
    expect(net.raft('s1').role).toBe('leader');
    expect(net.raft('s1').term).toBe(4);
    // S1 replicates index 2 (term 2) to S3 only; every other append is lost.
    for (let round = 0; round < 10; round++) {
      net.drop((m) => m.from === 's1' && m.to !== 's3');
      net.deliver((m) => between('s1', 's3')(m) || between('s3', 's1')(m));
      if (net.termsOf('s3').length >= 2) break;
    }
    net.drop((m) => m.from === 's1' && m.to === 's3'); // index 3 (term 4) does not reach S3
    expect(net.termsOf('s3')).toEqual([1, 2]);
    // Index 2 is now on S1, S2, S3 (a majority of 5) but is of term 2: not committed.
    expect(net.raft('s1').log.committed).toBe(1);
    // Which is right: S1 crashes, S5 is elected by S2, S3, S4 and overwrites index 2 (figure 8 (d)).
    net.isolate('s1');
    net.queue = [];
    net.campaign('s5');
    net.stabilize();
    expect(net.raft('s5').role).toBe('leader');
    for (const id of ['s2', 's3', 's4', 's5']) expect(net.termsOf(id)).toEqual([1, 3, 5]);
    expect(net.raft('s5').log.committed).toBe(3);
  });

  it('figure 8 (e): once an entry of the leader\'s term is on a majority, the earlier entry commits with it', () => {
    const disks = new Map<string, Disk>([
      ['s1', diskWithTerms([1, 2], { term: 3, commit: 1 })],
      ['s2', diskWithTerms([1, 2], { term: 3, commit: 1 })],
      ['s3', diskWithTerms([1], { term: 3, commit: 1 })],
      ['s4', diskWithTerms([1], { term: 3, commit: 1 })],
      ['s5', diskWithTerms([1, 3], { term: 3, commit: 1 })],
    ]);
    const net = new Network(['s1', 's2', 's3', 's4', 's5'], { disks });
    net.isolate('s4');
    net.isolate('s5');
    net.campaign('s1');
    net.stabilize();
    expect(net.termsOf('s3')).toEqual([1, 2, 4]);
    expect(net.raft('s1').log.committed).toBe(3);
    expect(net.raft('s5').role).toBe('follower'); // could never win now: its log is behind a majority's
  });

  it('fast backtracking: one rejected round trip per conflicting term, not one per index', () => {
    // Leader: terms 2 (x30), 4 (x30), 6 (x30); follower: 2 (x30), 3 (x30), 5 (x31).
    const rep = (term: number, n: number): number[] => new Array<number>(n).fill(term);
    const leaderLog = [1, ...rep(2, 30), ...rep(4, 30), ...rep(6, 30)];
    const followerLog = [1, ...rep(2, 30), ...rep(3, 30), ...rep(5, 31)];
    const disks = new Map<string, Disk>([
      ['n1', diskWithTerms(leaderLog, { term: 6, commit: 1 })],
      ['n2', diskWithTerms(leaderLog, { term: 6, commit: 1 })],
      ['n3', diskWithTerms(followerLog, { term: 6, commit: 1 })],
    ]);
    const net = new Network(['n1', 'n2', 'n3'], { disks });
    net.campaign('n1');
    let rejections = 0;
    const trace: string[] = [];
    for (let round = 0; round < 50 && net.queue.length > 0; round++) {
      // While probing, at most one append is outstanding to n3.
      expect(net.pending(isType('AppendEntries')).filter((d) => d.startsWith('n1->n3')).length).toBeLessThanOrEqual(1);
      const delivered = net.deliver();
      trace.push(...delivered.filter((d) => d.includes('n3')));
      rejections += delivered.filter((d) => d.startsWith('n3->n1 AppendEntriesResponse') && d.includes('reject')).length;
    }
    expect(trace).toContain('n3->n1 AppendEntriesResponse t7 reject at=91 hint=91/5');
    expect(trace).toContain('n3->n1 AppendEntriesResponse t7 reject at=61 hint=61/3');
    // Two conflicting terms on the follower (3 and 5): two rejections, where one per index would take 61.
    expect(rejections).toBe(2);
    expect(net.termsOf('n3')).toEqual([...leaderLog, 7]);
    expect(net.raft('n3').log.committed).toBe(92);
  });

  it('pipelines up to maxInflightAppends appends per replicating follower, then waits for acks', () => {
    const net = new Network(['n1', 'n2', 'n3'], { node: { maxInflightAppends: 4, maxEntriesPerAppend: 1 } });
    net.campaign('n1');
    net.stabilize();
    expect(net.raft('n1').status().progress['n2']?.state).toBe('replicate');
    for (let k = 0; k < 10; k++) expect(net.propose('n1', `v${k}`).ok).toBe(true);
    expect(net.queue.filter(appendsWithEntries('n1', 'n2'))).toHaveLength(4);
    expect(net.raft('n1').status().progress['n2']?.inflight).toBe(4);
    let maxOutstanding = 0;
    for (let round = 0; round < 40 && net.queue.length > 0; round++) {
      // Deliver one message at a time, oldest first, checking the window after each.
      net.deliver((m) => m === net.queue[0]);
      maxOutstanding = Math.max(maxOutstanding, net.queue.filter(appendsWithEntries('n1', 'n2')).length);
      expect(net.raft('n1').status().progress['n2']?.inflight).toBeLessThanOrEqual(4);
    }
    net.stabilize();
    expect(maxOutstanding).toBe(4);
    expect(net.raft('n1').log.committed).toBe(11);
    expect(net.appliedCommands('n2')).toEqual(['v0', 'v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9']);
  });

  it('batches by entry count and by bytes, but always sends an oversized single entry', () => {
    const net = new Network(['n1', 'n2', 'n3'], { node: { maxEntriesPerAppend: 3, maxBytesPerAppend: 200 } });
    net.campaign('n1');
    net.stabilize();
    net.isolate('n2');
    for (let k = 0; k < 7; k++) net.propose('n1', `c${k}`);
    net.stabilize();
    net.heal();
    net.raft('n1').reportUnreachable('n2'); // back to probe: the next appends carry the backlog
    const sizes: number[] = [];
    for (let round = 0; round < 20 && net.raft('n2').log.lastIndex() < 8; round++) {
      net.tickAll();
      for (const m of net.queue) if (appendsWithEntries('n1', 'n2')(m) && m.type === 'AppendEntries') sizes.push(m.entries.length);
      net.deliver();
    }
    expect(net.raft('n2').log.lastIndex()).toBe(8);
    expect(Math.max(...sizes)).toBe(3);
    // Bytes: 100-byte payloads (116 counted) fit one per 200-byte message; a 500-byte one still goes.
    const big = new Network(['n1', 'n2', 'n3'], { node: { maxBytesPerAppend: 200 } });
    big.campaign('n1');
    big.stabilize();
    big.isolate('n2');
    big.propose('n1', 'x'.repeat(100));
    big.propose('n1', 'y'.repeat(100));
    big.propose('n1', 'z'.repeat(500));
    big.stabilize();
    big.heal();
    big.raft('n1').reportUnreachable('n2');
    // Batch size by first index (a probe may be sent again after a heartbeat reply).
    const batches = new Map<number, number>();
    for (let round = 0; round < 20 && big.raft('n2').log.lastIndex() < 4; round++) {
      big.tickAll();
      for (const m of big.queue) {
        if (m.type === 'AppendEntries' && m.to === 'n2' && m.entries.length > 0) batches.set(m.prevLogIndex + 1, m.entries.length);
      }
      big.deliver();
    }
    expect(big.raft('n2').log.lastIndex()).toBe(4);
    expect([...batches.entries()].sort((a, b) => a[0] - b[0])).toEqual([[2, 1], [3, 1], [4, 1]]);
  });

  it('goes back to probing after a rejection or reportUnreachable', () => {
    const net = new Network(['n1', 'n2', 'n3']);
    net.campaign('n1');
    net.stabilize();
    const leader = net.raft('n1');
    expect(leader.status().progress['n2']?.state).toBe('replicate');
    leader.reportUnreachable('n2');
    expect(leader.status().progress['n2']?.state).toBe('probe');
    net.propose('n1', 'a');
    net.propose('n1', 'b');
    // Probe: one append out, the second waits.
    expect(net.queue.filter(appendsWithEntries('n1', 'n2'))).toHaveLength(1);
    net.stabilize();
    expect(leader.status().progress['n2']?.state).toBe('replicate');
    expect(net.appliedCommands('n2')).toEqual(['a', 'b']);
  });

  it('the leader counts itself toward commit only for entries it persisted (thesis 10.2.1)', () => {
    const net = new Network(['n1', 'n2', 'n3']);
    net.campaign('n1');
    net.stabilize();
    const leader = net.raft('n1');
    const result = leader.propose(new TextEncoder().encode('w'));
    expect(result).toEqual({ ok: true, index: 2, term: 1 });
    // The host ships the appends before its own write completes.
    const rd = leader.ready();
    expect(rd.entries.map((e) => e.index)).toEqual([2]);
    net.queue.push(...rd.messages);
    net.deliver(isType('AppendEntries'));
    net.cut('n1', 'n3');
    // n2's ack arrives while the leader's own write is in flight: 2 of 3 would be a quorum
    // only if the leader counted its unpersisted entry.
    net.deliver((m) => m.from === 'n2');
    expect(leader.log.committed).toBe(1);
    leader.advance(rd);
    expect(leader.log.committed).toBe(2);
    net.processReady('n1');
    expect(net.appliedCommands('n1')).toEqual(['w']);
  });

  it('a single-node leader commits only what advance() reported persisted (thesis 10.2.1)', () => {
    const r = new Raft({
      id: 'n1',
      config: { voters: ['n1'] },
      ...TEST_NODE_DEFAULTS,
      random: new Prng(1),
    });
    r.campaign();
    expect(r.role).toBe('leader');
    const first = r.ready();
    expect(first.entries.map(describeEntry)).toEqual(['1/1 noop']);
    // Alone, it is its own quorum, but its noop is not on disk yet.
    expect(r.log.committed).toBe(0);
    expect(r.propose(new TextEncoder().encode('w'))).toEqual({ ok: true, index: 2, term: 1 });
    expect(r.log.committed).toBe(0);
    r.advance(first);
    expect(r.log.committed).toBe(1);
    const second = r.ready();
    expect(second.entries.map(describeEntry)).toEqual(['2/1 "w"']);
    expect(second.committedEntries.map(describeEntry)).toEqual(['1/1 noop']);
    expect(r.log.committed).toBe(1);
    r.advance(second);
    expect(r.log.committed).toBe(2);
    expect(r.ready().committedEntries.map(describeEntry)).toEqual(['2/1 "w"']);
  });

  it('a follower applies an entry only in the Ready after the one persisting it', () => {
    const net = new Network(['n1', 'n2', 'n3']);
    net.campaign('n1');
    net.stabilize();
    // The append carries entry 2 and, on a second delivery, a commit covering it.
    net.propose('n1', 'q');
    net.stabilize();
    for (const rd of net.readies.get('n2') ?? []) {
      const persisted = new Set(rd.entries.map((e) => e.index));
      for (const e of rd.committedEntries) expect(persisted.has(e.index)).toBe(false);
    }
    expect(net.appliedCommands('n2')).toEqual(['q']);
  });

  it('limits: too_large, too_many_uncommitted, not_leader with the leader id, transferring', () => {
    const net = new Network(['n1', 'n2', 'n3'], { node: { maxEntryBytes: 8, maxUncommittedEntries: 3 } });
    net.campaign('n1');
    net.stabilize();
    expect(net.propose('n1', '123456789')).toEqual({ ok: false, reason: 'too_large', leaderId: 'n1' });
    // Exactly at the limit is accepted.
    expect(net.propose('n1', '12345678')).toEqual({ ok: true, index: 2, term: 1 });
    net.stabilize();
    expect(net.propose('n2', 'x')).toEqual({ ok: false, reason: 'not_leader', leaderId: 'n1' });
    net.isolate('n1');
    expect(net.propose('n1', 'a').ok).toBe(true);
    expect(net.propose('n1', 'b').ok).toBe(true);
    expect(net.propose('n1', 'c').ok).toBe(true);
    expect(net.propose('n1', 'd')).toEqual({ ok: false, reason: 'too_many_uncommitted', leaderId: 'n1' });
    net.heal();
    net.tickAll();
    net.stabilize();
    expect(net.raft('n1').log.committed).toBe(5);
    expect(net.propose('n1', 'd').ok).toBe(true);
  });
});
