/** The few Prometheus series the bench reads from a node's `/metrics` (src/metrics/metrics.service.ts). */

export interface NodeCounters {
  /** raft_entries_per_fsync histogram: entries made durable, and fsyncs. */
  readonly fsyncEntries: number;
  readonly fsyncs: number;
  /** raft_fsync_seconds histogram sum: time spent in fsync. */
  readonly fsyncSeconds: number;
  /** Highest index in this node's log (a gauge; its growth is the entries appended). */
  readonly lastLogIndex: number;
  /**
   * Peer RPC POSTs this node received (http_request_duration_seconds on the `/raft/:route`
   * pattern). On a follower these are the leader's batches: AppendEntries, and heartbeats too,
   * which the route label does not tell apart.
   */
  readonly peerPosts: number;
  /**
   * raft_append_entries_* and raft_peer_batches_total, received side: AppendEntries messages
   * (after the sender merged them, so exact), the entries they carried, and peer requests.
   */
  readonly appendEntriesReceived: number;
  readonly appendEntriesEntriesReceived: number;
  readonly peerBatchesReceived: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;

interface Sample {
  readonly name: string;
  readonly labels: string;
  readonly value: number;
}

export function parseCounters(text: string): NodeCounters {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (m !== null) samples.push({ name: m[1]!, labels: m[2] ?? '', value: Number(m[3]) });
  }
  const one = (name: string): number => {
    const found = samples.find((s) => s.name === name);
    if (found === undefined) throw new Error(`/metrics has no ${name}`);
    return found.value;
  };
  const peerPosts = samples
    .filter((s) => s.name === 'http_request_duration_seconds_count' && s.labels.includes('route="/raft/') && s.labels.includes('method="POST"'))
    .reduce((sum, s) => sum + s.value, 0);
  const received = (name: string): number => {
    const found = samples.find((s) => s.name === name && s.labels.includes('direction="received"'));
    if (found === undefined) throw new Error(`/metrics has no ${name}{direction="received"}`);
    return found.value;
  };
  return {
    fsyncEntries: one('raft_entries_per_fsync_sum'),
    fsyncs: one('raft_entries_per_fsync_count'),
    fsyncSeconds: one('raft_fsync_seconds_sum'),
    lastLogIndex: one('raft_last_log_index'),
    peerPosts,
    appendEntriesReceived: received('raft_append_entries_messages_total'),
    appendEntriesEntriesReceived: received('raft_append_entries_entries_total'),
    peerBatchesReceived: received('raft_peer_batches_total'),
  };
}

/** `after - before`, field by field. */
export function diffCounters(before: NodeCounters, after: NodeCounters): NodeCounters {
  return {
    fsyncEntries: after.fsyncEntries - before.fsyncEntries,
    fsyncs: after.fsyncs - before.fsyncs,
    fsyncSeconds: after.fsyncSeconds - before.fsyncSeconds,
    lastLogIndex: after.lastLogIndex - before.lastLogIndex,
    peerPosts: after.peerPosts - before.peerPosts,
    appendEntriesReceived: after.appendEntriesReceived - before.appendEntriesReceived,
    appendEntriesEntriesReceived: after.appendEntriesEntriesReceived - before.appendEntriesEntriesReceived,
    peerBatchesReceived: after.peerBatchesReceived - before.peerBatchesReceived,
  };
}

/**
 * Replication figures from the followers' counter deltas of one row: entries per AppendEntries
 * (exact), and peer requests the leader sent per entry (per follower; heartbeats and ReadIndex
 * rounds included). Null where nothing was replicated.
 */
export function appendEntriesFigures(followers: readonly NodeCounters[]): { entriesPerAppend: number | null; postsPerEntry: number | null } {
  const sum = (f: (c: NodeCounters) => number) => followers.reduce((s, c) => s + f(c), 0);
  const entries = sum((c) => c.appendEntriesEntriesReceived);
  const appends = sum((c) => c.appendEntriesReceived);
  return {
    entriesPerAppend: entries > 0 && appends > 0 ? entries / appends : null,
    postsPerEntry: entries > 0 ? sum((c) => c.peerBatchesReceived) / entries : null,
  };
}
