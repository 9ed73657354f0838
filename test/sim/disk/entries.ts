import type { Entry } from '../../../src/consensus/core/messages.js';

/** Entries from..to of one term, each carrying a payload that names it. */
export function makeEntries(from: number, to: number, term: number): Entry[] {
  return Array.from({ length: to - from + 1 }, (_, i) => ({
    index: from + i,
    term,
    type: 'command' as const,
    data: new TextEncoder().encode(`e${from + i}t${term}`.repeat(3)),
  }));
}
