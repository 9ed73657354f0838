import { describe, expect, it } from '@jest/globals';
import { describeEntry, describeMessage, describeReady } from '../../src/consensus/core/describe.js';
import { PROTOCOL_VERSION, type Entry, type Message } from '../../src/consensus/core/messages.js';

const enc = new TextEncoder();
const entry = (index: number, term: number, data: string | Uint8Array, type: Entry['type'] = 'command'): Entry => ({
  index,
  term,
  type,
  data: typeof data === 'string' ? enc.encode(data) : data,
});
const head = { version: PROTOCOL_VERSION, from: 'n1', to: 'n2', term: 3 } as const;

describe('describe: one-line renderings for traces and transcripts', () => {
  it('entries: index/term, noop, short printable payloads quoted, others by size', () => {
    expect(describeEntry(entry(4, 2, '', 'noop'))).toBe('4/2 noop');
    expect(describeEntry(entry(5, 2, 'put x=1'))).toBe('5/2 "put x=1"');
    expect(describeEntry(entry(6, 2, 'x'.repeat(25)))).toBe('6/2 (25B)');
    // Quotes, backslashes and control bytes would make the line ambiguous: shown by size.
    expect(describeEntry(entry(7, 2, 'a"b'))).toBe('7/2 (3B)');
    expect(describeEntry(entry(8, 2, new Uint8Array([0, 1, 2])))).toBe('8/2 (3B)');
  });

  it('every message type on one line', () => {
    const messages: Message[] = [
      { ...head, type: 'RequestVote', preVote: true, transfer: false, lastLogIndex: 9, lastLogTerm: 2 },
      { ...head, type: 'RequestVote', preVote: false, transfer: true, lastLogIndex: 9, lastLogTerm: 2 },
      { ...head, type: 'RequestVoteResponse', preVote: false, granted: true },
      { ...head, type: 'RequestVoteResponse', preVote: true, granted: false },
      { ...head, type: 'AppendEntries', prevLogIndex: 3, prevLogTerm: 1, commit: 3, entries: [entry(4, 3, '', 'noop'), entry(5, 3, 'put x=1')] },
      { ...head, type: 'AppendEntriesResponse', success: true, matchIndex: 5 },
      { ...head, type: 'AppendEntriesResponse', success: false, matchIndex: 0, rejectedIndex: 5, rejectHint: { conflictIndex: 3, conflictTerm: 1 } },
      { ...head, type: 'AppendEntriesResponse', success: false, matchIndex: 0 },
      { ...head, type: 'Heartbeat', commit: 5, context: 2 },
      { ...head, type: 'HeartbeatResponse', context: 2 },
      { ...head, type: 'InstallSnapshot', snapshot: { index: 9, term: 2, config: { voters: ['n1', 'n2', 'n3'] } } },
      { ...head, type: 'TimeoutNow' },
    ];
    expect(messages.map(describeMessage)).toEqual([
      'n1->n2 RequestVote t3 pre last=9/2',
      'n1->n2 RequestVote t3 transfer last=9/2',
      'n1->n2 RequestVoteResponse t3 granted',
      'n1->n2 RequestVoteResponse t3 pre rejected',
      'n1->n2 AppendEntries t3 prev=3/1 commit=3 entries=[4/3 noop, 5/3 "put x=1"]',
      'n1->n2 AppendEntriesResponse t3 ok match=5',
      'n1->n2 AppendEntriesResponse t3 reject at=5 hint=3/1',
      'n1->n2 AppendEntriesResponse t3 reject (term only)',
      'n1->n2 Heartbeat t3 commit=5 ctx=2',
      'n1->n2 HeartbeatResponse t3 ctx=2',
      'n1->n2 InstallSnapshot t3 snapshot=9/2 voters=n1,n2,n3',
      'n1->n2 TimeoutNow t3',
    ]);
    for (const line of messages.map(describeMessage)) expect(line).not.toContain('\n');
  });

  it('a Ready: only the parts present, messages counted', () => {
    expect(describeReady({ entries: [], messages: [], committedEntries: [], readStates: [] })).toBe('ready(empty)');
    expect(
      describeReady({
        softState: { role: 'leader', leaderId: 'n1' },
        hardState: { term: 3, vote: 'n1', commit: 4 },
        snapshot: { index: 2, term: 1, config: { voters: ['n1'] } },
        entries: [entry(5, 3, 'a')],
        messages: [{ ...head, type: 'TimeoutNow' }],
        committedEntries: [entry(3, 1, '', 'noop'), entry(4, 3, 'b')],
        readStates: [{ context: 'r1', index: 4 }],
      }),
    ).toBe('soft=leader(leader=n1) hard=t3 vote=n1 commit=4 snapshot=2/1 entries=[5/3 "a"] apply=[3/1 noop, 4/3 "b"] reads=[r1@4] msgs=1');
  });
});
