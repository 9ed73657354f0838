import type { Message } from '../core/messages.js';

/** What the transport counts per peer request (MetricsService fits as is). */
export interface PeerTrafficMetrics {
  observePeerBatch(direction: 'sent' | 'received', appendEntries: number, entries: number): void;
}

/** Counts one batch of `direction` (after merging: exactly the messages on the wire). */
export function observeBatch(metrics: PeerTrafficMetrics, direction: 'sent' | 'received', batch: readonly Message[]): void {
  let appendEntries = 0;
  let entries = 0;
  for (const m of batch) {
    if (m.type !== 'AppendEntries') continue;
    appendEntries++;
    entries += m.entries.length;
  }
  metrics.observePeerBatch(direction, appendEntries, entries);
}
