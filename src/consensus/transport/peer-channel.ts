import type { Message, NodeId } from '../core/messages.js';
import { coalesce } from './coalesce.js';
import { encodeBatch, encodedMessageBytes } from './message-codec.js';
import { routeForBatch } from './peer-routes.js';

/** Where a channel posts its batches (PeerEndpoint in the node, a fake in tests). */
export interface BatchPoster {
  /** Resolves once the peer took the batch, with its reply batch if it answered with one. */
  post(route: string, body: Uint8Array): Promise<Uint8Array | null | void>;
}

export interface PeerChannelOptions {
  /** Queue bounds: past either, the oldest queued messages are dropped (Raft tolerates loss). */
  readonly queueMessagesMax: number;
  readonly queueBytesMax: number;
  /** A request carries queued messages up to about this many bytes (at least one message). */
  readonly batchBytesMax: number;
  /** After a failed request, wait this long before the next (doubling up to the max). */
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
}

export interface PeerChannelEvents {
  /** A batch reached the peer. */
  delivered(peer: NodeId): void;
  /** The peer answered a batch with messages of its own (an encoded batch, not yet checked). */
  replied?(peer: NodeId, reply: Uint8Array): void;
  /** A batch did not (its messages are lost); `first` is true on the first failure of a run. */
  failed(peer: NodeId, error: unknown, first: boolean): void;
  /** Messages were dropped because the queue was full. */
  dropped(peer: NodeId, count: number): void;
  /** A batch is being posted (whatever the outcome): exactly the messages on the wire. */
  sent?(peer: NodeId, batch: readonly Message[]): void;
}

interface Queued {
  readonly message: Message;
  readonly bytes: number;
}

/**
 * The messages for one peer: an independent bounded queue with one request in flight, so a slow
 * or dead peer delays only itself. Whatever queues up while a request is in flight leaves in the
 * next one, batched. After a failure the queue is dropped (Raft re-sends what matters) and
 * sending pauses for a backoff, so a dead peer costs little.
 */
export class PeerChannel {
  /** Slots before `head` are sent or dropped and hold undefined, so they pin no message (nor its entries). */
  private queue: (Queued | undefined)[] = [];
  private head = 0;
  private queuedBytes = 0;
  private inFlight = false;
  private failures = 0;
  private retryAtMs = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    readonly peer: NodeId,
    private readonly poster: BatchPoster,
    private readonly options: PeerChannelOptions,
    private readonly events: PeerChannelEvents,
  ) {}

  get queuedMessages(): number {
    return this.queue.length - this.head;
  }

  /**
   * Queues without sending; call flush() once a Ready's messages are all queued. A message that
   * continues the last one queued is merged into it (see coalesce.ts), up to the batch size.
   */
  enqueue(message: Message): void {
    if (this.closed) return;
    const lastAt = this.queue.length - 1;
    const last = lastAt >= this.head ? this.queue[lastAt] : undefined;
    if (last !== undefined) {
      const merged = coalesce(last.message, message);
      if (merged !== null) {
        const bytes = encodedMessageBytes(merged);
        if (bytes <= this.options.batchBytesMax) {
          this.queue[lastAt] = { message: merged, bytes };
          this.queuedBytes += bytes - last.bytes;
          return;
        }
      }
    }
    const bytes = encodedMessageBytes(message);
    this.queue.push({ message, bytes });
    this.queuedBytes += bytes;
    let dropped = 0;
    while (this.queuedMessages > 1 && (this.queuedMessages > this.options.queueMessagesMax || this.queuedBytes > this.options.queueBytesMax)) {
      this.queuedBytes -= (this.queue[this.head] as Queued).bytes;
      this.queue[this.head] = undefined;
      this.head++;
      dropped++;
    }
    if (dropped > 0) this.events.dropped(this.peer, dropped);
  }

  /** Sends what is queued, unless a request is in flight or a backoff runs. */
  flush(): void {
    if (this.closed || this.inFlight || this.queuedMessages === 0) return;
    const waitMs = this.retryAtMs - Date.now();
    if (waitMs > 0) {
      this.retryTimer ??= setTimeout(() => {
        this.retryTimer = null;
        this.flush();
      }, waitMs);
      return;
    }
    const batch = this.takeBatch();
    this.events.sent?.(this.peer, batch);
    this.inFlight = true;
    void this.post(batch);
  }

  close(): void {
    this.closed = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
  }

  private takeBatch(): Message[] {
    const batch: Message[] = [];
    let bytes = 0;
    while (this.head < this.queue.length) {
      const next = this.queue[this.head] as Queued;
      if (batch.length > 0 && bytes + next.bytes > this.options.batchBytesMax) break;
      batch.push(next.message);
      bytes += next.bytes;
      this.queuedBytes -= next.bytes;
      this.queue[this.head] = undefined;
      this.head++;
    }
    // Compact now and then so the array does not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return batch;
  }

  private async post(batch: Message[]): Promise<void> {
    try {
      const reply = await this.poster.post(routeForBatch(batch), encodeBatch(batch));
      this.failures = 0;
      this.retryAtMs = 0;
      if (!this.closed) {
        this.events.delivered(this.peer);
        if (reply) this.events.replied?.(this.peer, reply);
      }
    } catch (error) {
      this.failures++;
      const backoffMs = Math.min(this.options.backoffMaxMs, this.options.backoffMinMs * 2 ** Math.min(this.failures - 1, 16));
      this.retryAtMs = Date.now() + backoffMs;
      const lost = this.queuedMessages;
      this.queue = [];
      this.head = 0;
      this.queuedBytes = 0;
      if (lost > 0) this.events.dropped(this.peer, lost);
      if (!this.closed) this.events.failed(this.peer, error, this.failures === 1);
    } finally {
      this.inFlight = false;
      this.flush();
    }
  }
}
