import { describe, expect, it } from '@jest/globals';
import { Network, diskWithTerms, isType, type Disk } from './harness.js';
import { PROTOCOL_VERSION, type SnapshotMeta } from '../../src/consensus/core/messages.js';

function leaderWithLaggingN3(): Network {
  const net = new Network(['n1', 'n2', 'n3']);
  net.campaign('n1');
  net.stabilize();
  net.isolate('n3');
  for (let k = 0; k < 10; k++) net.propose('n1', `v${k}`);
  net.stabilize();
  return net;
}

describe('snapshots (Raft §7)', () => {
  it('compact() drops covered entries; a follower behind the compaction point gets InstallSnapshot, then the log', () => {
    const net = leaderWithLaggingN3();
    const leader = net.raft('n1');
    expect(leader.log.committed).toBe(11);
    const meta = net.compact('n1', 9);
    expect(meta).toEqual({ index: 9, term: 1, config: { voters: ['n1', 'n2', 'n3'] } });
    expect(leader.status().firstIndex).toBe(10);
    expect(net.logOf('n1')).toEqual(['10/1', '11/1']);
    net.heal();
    const trace: string[] = [];
    for (let round = 0; round < 30 && net.raft('n3').log.committed < 11; round++) {
      net.tickAll();
      trace.push(...net.deliver());
      if (leader.status().progress['n3']?.state === 'snapshot') {
        // Nothing but the snapshot goes to n3 until it answers.
        expect(net.pending((m) => m.type === 'AppendEntries' && m.to === 'n3')).toEqual([]);
      }
    }
    expect(trace).toContain('n1->n3 InstallSnapshot t1 snapshot=9/1 voters=n1,n2,n3');
    expect(trace).toContain('n3->n1 AppendEntriesResponse t1 ok match=9');
    // The follower persisted the snapshot, then received the log from snapshot.index + 1.
    const n3Ready = net.readies.get('n3')?.find((rd) => rd.snapshot !== undefined);
    expect(n3Ready?.snapshot).toEqual(meta);
    // Its answer leaves in the same Ready, i.e. after the host persisted the snapshot.
    expect(n3Ready?.messages.some((m) => m.type === 'AppendEntriesResponse' && m.success && m.matchIndex === 9)).toBe(true);
    expect(trace.some((d) => d.startsWith('n1->n3 AppendEntries t1 prev=9/1'))).toBe(true);
    net.stabilize();
    expect(net.disks.get('n3')?.snapshot).toEqual(meta);
    expect(net.logOf('n3')).toEqual(['10/1', '11/1']);
    expect(net.raft('n3').log.applied).toBe(11);
    expect(net.appliedCommands('n3')).toEqual(net.appliedCommands('n1'));
    expect(leader.status().progress['n3']?.state).toBe('replicate');
  });

  it('a follower with a conflicting uncommitted tail behind the compaction point: snapshot replaces its log, then the log follows', () => {
    const disks = new Map<string, Disk>([
      ['n1', diskWithTerms([1, 2, 2, 2, 2], { term: 2, commit: 1 })],
      ['n2', diskWithTerms([1, 2, 2, 2, 2], { term: 2, commit: 1 })],
      // n3 holds stale term-1 entries 2..7 that never committed.
      ['n3', diskWithTerms([1, 1, 1, 1, 1, 1, 1], { term: 2, commit: 1 })],
    ]);
    const net = new Network(['n1', 'n2', 'n3'], { disks });
    net.isolate('n3');
    net.campaign('n1');
    net.stabilize();
    expect(net.raft('n1').log.committed).toBe(6);
    const meta = net.compact('n1', 5);
    net.heal();
    const trace: string[] = [];
    for (let round = 0; round < 30 && net.raft('n3').log.committed < 6; round++) {
      net.tick('n1');
      trace.push(...net.deliver());
    }
    // The probe's rejection hints below the leader's first index: nothing to send but the snapshot.
    expect(trace).toContain('n1->n3 InstallSnapshot t3 snapshot=5/2 voters=n1,n2,n3');
    expect(net.readies.get('n3')?.find((rd) => rd.snapshot !== undefined)?.snapshot).toEqual(meta);
    net.stabilize();
    // Its stale 6/1 and 7/1 are gone: the log restarted at the snapshot and took the leader's 6/3.
    expect(net.logOf('n3')).toEqual(['6/3']);
    expect(net.disks.get('n3')?.entries.map((e) => `${e.index}/${e.term}`)).toEqual(['6/3']);
    expect(net.applied.get('n3')?.map((e) => `${e.index}/${e.term}`)).toEqual(net.applied.get('n1')?.map((e) => `${e.index}/${e.term}`));
  });

  it('a failed snapshot stream (reportSnapshot !ok) is retried after the next heartbeat reply', () => {
    const net = leaderWithLaggingN3();
    net.compact('n1', 9);
    net.heal();
    const leader = net.raft('n1');
    for (let round = 0; round < 10 && leader.status().progress['n3']?.state !== 'snapshot'; round++) {
      net.tickAll();
      net.deliver();
    }
    expect(leader.status().progress['n3']?.state).toBe('snapshot');
    net.drop(isType('InstallSnapshot'));
    leader.reportSnapshot('n3', false);
    expect(leader.status().progress['n3']?.state).toBe('probe');
    let sent = 0;
    for (let round = 0; round < 10 && net.raft('n3').log.committed < 11; round++) {
      net.tickAll();
      sent += net.pending(isType('InstallSnapshot')).length;
      net.deliver();
    }
    expect(sent).toBeGreaterThanOrEqual(1);
    expect(net.raft('n3').log.committed).toBe(11);
  });

  it('answers a stale InstallSnapshot with its commit index and keeps its log', () => {
    const net = new Network(['n1', 'n2', 'n3']);
    net.campaign('n1');
    net.stabilize();
    for (let k = 0; k < 5; k++) net.propose('n1', `v${k}`);
    net.stabilize();
    const n2 = net.raft('n2');
    const stale: SnapshotMeta = { index: 3, term: 1, config: { voters: ['n1', 'n2', 'n3'] } };
    n2.step({ version: PROTOCOL_VERSION, type: 'InstallSnapshot', from: 'n1', to: 'n2', term: 1, snapshot: stale });
    net.processReady('n2');
    expect(net.pending()).toEqual(['n2->n1 AppendEntriesResponse t1 ok match=6']);
    expect(n2.log.snapshotMeta().index).toBe(0);
    expect(n2.log.lastIndex()).toBe(6);
  });

  it('a follower whose log already holds the snapshot index keeps the entries after it', () => {
    // n2 has acknowledged 1..6; a delayed snapshot at 4 arrives while its commit is only 2.
    const net = new Network(['n1', 'n2', 'n3']);
    net.campaign('n1');
    net.stabilize();
    net.propose('n1', 'a');
    net.stabilize();
    net.cut('n1', 'n3');
    for (let k = 0; k < 4; k++) net.propose('n1', `b${k}`);
    net.deliver(isType('AppendEntries')); // n2 appends 3..6 but has not heard the new commit
    const n2 = net.raft('n2');
    expect(n2.log.lastIndex()).toBe(6);
    expect(n2.log.committed).toBe(2);
    const snap: SnapshotMeta = { index: 4, term: 1, config: { voters: ['n1', 'n2', 'n3'] } };
    net.queue = [];
    n2.step({ version: PROTOCOL_VERSION, type: 'InstallSnapshot', from: 'n1', to: 'n2', term: 1, snapshot: snap });
    net.processReady('n2');
    expect(net.pending()).toEqual(['n2->n1 AppendEntriesResponse t1 ok match=4']);
    expect(n2.log.lastIndex()).toBe(6); // 5 and 6 survive: n1 may have counted them toward commit
    expect(n2.log.committed).toBe(4);
    expect(net.readies.get('n2')?.some((rd) => rd.snapshot !== undefined)).toBe(false);
  });

  it('a node restarted from a snapshot and a log tail serves from snapshot.index + 1', () => {
    const net = leaderWithLaggingN3();
    net.compact('n1', 6);
    net.restart('n1');
    const r = net.raft('n1');
    expect(r.status().snapshot.index).toBe(6);
    expect(r.log.applied).toBe(6);
    expect(net.logOf('n1')).toEqual(['7/1', '8/1', '9/1', '10/1', '11/1']);
    net.processReady('n1');
    // Commit was persisted as 11: the rest is applied again without waiting for a leader.
    expect(net.applied.get('n1')?.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const disk = net.disks.get('n1') as Disk;
    expect(disk.entries[0]?.index).toBe(7);
  });
});
