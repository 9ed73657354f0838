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
  return {
    fsyncEntries: one('raft_entries_per_fsync_sum'),
    fsyncs: one('raft_entries_per_fsync_count'),
    fsyncSeconds: one('raft_fsync_seconds_sum'),
    lastLogIndex: one('raft_last_log_index'),
    peerPosts,
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
  };
}
