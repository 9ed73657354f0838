import type { AppendEntries, AppendEntriesResponse, Message } from '../core/messages.js';

/**
 * Merges `next` into `queued` (the last message still waiting for the same peer) when the peer
 * would do exactly the same with the one merged message as with the two in a row; else null.
 *
 *  - Two AppendEntries of one term where the second continues the first (its prevLogIndex/Term
 *    is the first's last entry) become one carrying both runs of entries and the later commit
 *    index. A leader proposing one entry at a time sends one AppendEntries per proposal; merged,
 *    the follower appends, persists and answers once for the lot (its answer acknowledges the
 *    last index, which frees every inflight append up to it on the leader).
 *  - Two successful AppendEntriesResponses of one term: only the higher matchIndex tells the
 *    leader anything (Raft's acknowledgements are cumulative).
 *
 * Anything else (rejections, votes, heartbeats carrying ReadIndex contexts) is never merged.
 */
export function coalesce(queued: Message, next: Message): Message | null {
  if (queued.to !== next.to || queued.from !== next.from || queued.term !== next.term || queued.version !== next.version) return null;
  if (queued.type === 'AppendEntries' && next.type === 'AppendEntries') return mergeAppends(queued, next);
  if (queued.type === 'AppendEntriesResponse' && next.type === 'AppendEntriesResponse') return mergeAcks(queued, next);
  return null;
}

function mergeAppends(first: AppendEntries, second: AppendEntries): AppendEntries | null {
  const last = first.entries[first.entries.length - 1];
  const lastIndex = last?.index ?? first.prevLogIndex;
  const lastTerm = last?.term ?? first.prevLogTerm;
  if (second.prevLogIndex !== lastIndex || second.prevLogTerm !== lastTerm) return null;
  return {
    ...first,
    entries: second.entries.length === 0 ? first.entries : first.entries.concat(second.entries),
    commit: Math.max(first.commit, second.commit),
  };
}

function mergeAcks(first: AppendEntriesResponse, second: AppendEntriesResponse): AppendEntriesResponse | null {
  if (!first.success || !second.success) return null;
  return second.matchIndex >= first.matchIndex ? second : first;
}
