import { describe, expect, it } from '@jest/globals';
import { PROTOCOL_VERSION, type AppendEntries, type AppendEntriesResponse, type Message } from '../../src/consensus/core/messages.js';
import { coalesce } from '../../src/consensus/transport/coalesce.js';

const v = PROTOCOL_VERSION;
function append(prevLogIndex: number, prevLogTerm: number, indexes: number[], commit: number, term = 2): AppendEntries {
  return {
    version: v,
    type: 'AppendEntries',
    from: 'n1',
    to: 'n2',
    term,
    prevLogIndex,
    prevLogTerm,
    commit,
    entries: indexes.map((index) => ({ index, term, type: 'command', data: Uint8Array.of(index) })),
  };
}
const ack = (matchIndex: number, success = true): AppendEntriesResponse => ({
  version: v,
  type: 'AppendEntriesResponse',
  from: 'n2',
  to: 'n1',
  term: 2,
  success,
  matchIndex: success ? matchIndex : 0,
  ...(success ? {} : { rejectedIndex: matchIndex }),
});

describe('coalesce: merging queued messages the peer would treat alike', () => {
  it('merges an AppendEntries that continues the queued one into one run of entries', () => {
    const merged = coalesce(append(4, 1, [5], 3), append(5, 2, [6, 7], 4));
    expect(merged).toEqual({ ...append(4, 1, [5, 6, 7], 4) });
  });

  it('merges an empty append (a commit bump) into the previous one', () => {
    expect(coalesce(append(4, 1, [5], 3), append(5, 2, [], 5))).toEqual(append(4, 1, [5], 5));
  });

  it('does not merge appends that do not continue each other, or of another term or peer', () => {
    expect(coalesce(append(4, 1, [5], 3), append(6, 2, [7], 3))).toBeNull();
    expect(coalesce(append(4, 1, [5], 3), append(5, 1, [6], 3))).toBeNull(); // prevLogTerm is not entry 5's term
    expect(coalesce(append(4, 1, [5], 3), { ...append(5, 2, [6], 3), term: 3 })).toBeNull();
    expect(coalesce(append(4, 1, [5], 3), { ...append(5, 2, [6], 3), to: 'n3' })).toBeNull();
  });

  it('keeps the highest of two successful acknowledgements, never merges a rejection', () => {
    expect(coalesce(ack(5), ack(9))).toEqual(ack(9));
    expect(coalesce(ack(9), ack(5))).toEqual(ack(9));
    expect(coalesce(ack(5), ack(7, false))).toBeNull();
    expect(coalesce(ack(7, false), ack(9))).toBeNull();
  });

  it('never merges other kinds of messages', () => {
    const heartbeat: Message = { version: v, type: 'Heartbeat', from: 'n1', to: 'n2', term: 2, commit: 1, context: 1 };
    expect(coalesce(heartbeat, { ...heartbeat, context: 2 })).toBeNull();
    expect(coalesce(append(4, 1, [5], 3), heartbeat)).toBeNull();
  });
});
