import { describe, expect, it } from '@jest/globals';
import { PROTOCOL_VERSION, type Message } from '../../src/consensus/core/messages.js';
import { PeerChannel, type BatchPoster } from '../../src/consensus/transport/peer-channel.js';
import { observeBatch } from '../../src/consensus/transport/peer-traffic.js';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import { appendMessage } from './helpers/peer-messages.js';

/**
 * The AppendEntries counters (raft_append_entries_messages_total, raft_append_entries_entries_total,
 * raft_peer_batches_total): counted per request as it goes on the wire, after merging, so
 * "entries per AppendEntries" is exact.
 */
const v = PROTOCOL_VERSION;
const append = appendMessage;
const heartbeat: Message = { version: v, type: 'Heartbeat', from: 'n1', to: 'n2', term: 2, commit: 0, context: 1 };

class HeldPoster implements BatchPoster {
  readonly done: (() => void)[] = [];
  post(): Promise<void> {
    return new Promise((resolve) => this.done.push(resolve));
  }
}

function sample(text: string, name: string, direction: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{direction="${direction}"}`));
  if (line === undefined) throw new Error(`no ${name}{direction="${direction}"} in the metrics`);
  return Number(line.split(' ').pop());
}

describe('AppendEntries traffic counters', () => {
  it('count the merged messages a channel actually posts: requests, AppendEntries, entries', async () => {
    const metrics = new MetricsService();
    const poster = new HeldPoster();
    const channel = new PeerChannel('n2', poster, { queueMessagesMax: 100, queueBytesMax: 1 << 20, batchBytesMax: 1 << 20, backoffMinMs: 0, backoffMaxMs: 0 }, {
      delivered: () => undefined,
      failed: () => undefined,
      dropped: () => undefined,
      sent: (_, batch) => observeBatch(metrics, 'sent', batch),
    });
    channel.enqueue(append(1, 1));
    channel.flush();
    // While the first request is in flight, three appends queue up and merge into one, beside a heartbeat.
    channel.enqueue(append(2, 2));
    channel.enqueue(append(4, 1));
    channel.enqueue(heartbeat);
    channel.enqueue(append(5, 3));
    channel.flush();
    poster.done.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
    const text = await metrics.render(null);
    expect(sample(text, 'raft_peer_batches_total', 'sent')).toBe(2);
    // append(2)+append(4) merged; the heartbeat between stops append(5) from merging with them.
    expect(sample(text, 'raft_append_entries_messages_total', 'sent')).toBe(3);
    expect(sample(text, 'raft_append_entries_entries_total', 'sent')).toBe(7);
    expect(sample(text, 'raft_append_entries_messages_total', 'received')).toBe(0);
  });

  it('count a received batch on the received series only', async () => {
    const metrics = new MetricsService();
    observeBatch(metrics, 'received', [append(1, 4), heartbeat, append(5, 0)]);
    const text = await metrics.render(null);
    expect(sample(text, 'raft_peer_batches_total', 'received')).toBe(1);
    expect(sample(text, 'raft_append_entries_messages_total', 'received')).toBe(2);
    expect(sample(text, 'raft_append_entries_entries_total', 'received')).toBe(4);
    expect(sample(text, 'raft_peer_batches_total', 'sent')).toBe(0);
  });
});
