import { PROTOCOL_VERSION, type Message } from '../../../src/consensus/core/messages.js';

/** An AppendEntries n1 -> n2 in term 2 carrying `count` entries from `index` on (entry k's data is its index). */
export function appendMessage(index: number, count = 1): Message {
  return {
    version: PROTOCOL_VERSION,
    type: 'AppendEntries',
    from: 'n1',
    to: 'n2',
    term: 2,
    prevLogIndex: index - 1,
    prevLogTerm: 2,
    commit: 0,
    entries: Array.from({ length: count }, (_, k) => ({ index: index + k, term: 2, type: 'command' as const, data: Uint8Array.of((index + k) & 0xff) })),
  };
}
