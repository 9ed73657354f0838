import type { Entry, Message } from './messages.js';
import type { Ready } from './ready.js';

/**
 * One-line, stable, human-readable renderings for traces and transcript tests, e.g.
 *   n1->n2 AppendEntries t2 prev=3/1 commit=3 entries=[4/2 noop, 5/2 "put x=1"]
 *   n2->n1 AppendEntriesResponse t2 reject at=5 hint=3/1
 */

const PREVIEW_BYTES_MAX = 24;

/** `index/term` plus `noop`, the payload as a quoted string if short printable ASCII, else its size. */
export function describeEntry(e: Entry): string {
  const head = `${e.index}/${e.term}`;
  if (e.type === 'noop') return `${head} noop`;
  return `${head} ${previewData(e.data)}`;
}

export function describeEntries(entries: readonly Entry[]): string {
  return `[${entries.map(describeEntry).join(', ')}]`;
}

function previewData(data: Uint8Array): string {
  if (data.byteLength <= PREVIEW_BYTES_MAX && data.every((b) => b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c)) {
    return `"${String.fromCharCode(...data)}"`;
  }
  return `(${data.byteLength}B)`;
}

export function describeMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} t${m.term}`;
  switch (m.type) {
    case 'RequestVote':
      return `${head}${m.preVote ? ' pre' : ''}${m.transfer ? ' transfer' : ''} last=${m.lastLogIndex}/${m.lastLogTerm}`;
    case 'RequestVoteResponse':
      return `${head}${m.preVote ? ' pre' : ''} ${m.granted ? 'granted' : 'rejected'}`;
    case 'AppendEntries':
      return `${head} prev=${m.prevLogIndex}/${m.prevLogTerm} commit=${m.commit} entries=${describeEntries(m.entries)}`;
    case 'AppendEntriesResponse': {
      if (m.success) return `${head} ok match=${m.matchIndex}`;
      if (m.rejectedIndex === undefined) return `${head} reject (term only)`;
      const hint = m.rejectHint === undefined ? '' : ` hint=${m.rejectHint.conflictIndex}/${m.rejectHint.conflictTerm}`;
      return `${head} reject at=${m.rejectedIndex}${hint}`;
    }
    case 'Heartbeat':
      return `${head} commit=${m.commit} ctx=${m.context}`;
    case 'HeartbeatResponse':
      return `${head} ctx=${m.context}`;
    case 'InstallSnapshot':
      return `${head} snapshot=${m.snapshot.index}/${m.snapshot.term} voters=${m.snapshot.config.voters.join(',')}`;
    case 'TimeoutNow':
      return head;
  }
}

/** The Ready on one line; its messages are counted here (describe them one per line with describeMessage). */
export function describeReady(r: Ready): string {
  const parts: string[] = [];
  if (r.softState !== undefined) parts.push(`soft=${r.softState.role}(leader=${r.softState.leaderId ?? '-'})`);
  if (r.hardState !== undefined) {
    parts.push(`hard=t${r.hardState.term} vote=${r.hardState.vote ?? '-'} commit=${r.hardState.commit}`);
  }
  if (r.snapshot !== undefined) parts.push(`snapshot=${r.snapshot.index}/${r.snapshot.term}`);
  if (r.entries.length > 0) parts.push(`entries=${describeEntries(r.entries)}`);
  if (r.committedEntries.length > 0) parts.push(`apply=${describeEntries(r.committedEntries)}`);
  if (r.readStates.length > 0) parts.push(`reads=[${r.readStates.map((s) => `${s.context}@${s.index}`).join(', ')}]`);
  if (r.messages.length > 0) parts.push(`msgs=${r.messages.length}`);
  return parts.length === 0 ? 'ready(empty)' : parts.join(' ');
}
