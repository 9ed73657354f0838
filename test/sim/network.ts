import type { Message, NodeId } from '../../src/consensus/core/messages.js';
import type { Prng } from '../../src/consensus/core/prng.js';

/**
 * The simulated network: every message gets a delay in ticks, may be dropped or duplicated, and
 * is reordered by those delays. Partitions block directed links, so a symmetric partition blocks
 * both directions and an asymmetric one only one; they change over time as the run loop says.
 * All randomness comes from the one seeded source, so a seed replays the same deliveries.
 */

/** A message on the wire. An InstallSnapshot carries its snapshot's bytes with it (streamed in one piece here). */
export interface Envelope {
  readonly message: Message;
  readonly snapshotData?: Uint8Array;
  /** The sender's incarnation: feedback (reportSnapshot) must not reach a restarted sender. */
  readonly senderIncarnation: number;
}

export interface NetworkFaults {
  /** Probability that a message is lost, in [0, 1]. */
  readonly dropRate: number;
  /** Probability that a message is delivered twice (the copy with its own delay). */
  readonly duplicateRate: number;
  /** Delivery delay bounds in ticks; a spread reorders messages. */
  readonly delayTicksMin: number;
  readonly delayTicksMax: number;
}

export const HEALTHY_NETWORK: NetworkFaults = { dropRate: 0, duplicateRate: 0, delayTicksMin: 1, delayTicksMax: 2 };

export type DropReason = 'loss' | 'partition';

interface InFlight {
  readonly deliverAt: number;
  /** Tie-break among equal delivery ticks: send order, so delivery order is fully determined. */
  readonly order: number;
  readonly envelope: Envelope;
}

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
  blocked: number;
}

export class SimNetwork {
  private faults: NetworkFaults = HEALTHY_NETWORK;
  private readonly blockedLinks = new Set<string>();
  private readonly queue = new MinQueue<InFlight>((a, b) => a.deliverAt - b.deliverAt || a.order - b.order);
  private nextOrder = 0;
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, blocked: 0 };

  constructor(private readonly random: Prng) {}

  setFaults(faults: NetworkFaults): void {
    if (faults.delayTicksMin < 1 || faults.delayTicksMax < faults.delayTicksMin) {
      throw new Error(`network: bad delay bounds ${faults.delayTicksMin}..${faults.delayTicksMax}`);
    }
    this.faults = faults;
  }

  /** Blocks from -> to only (an asymmetric partition, e.g. a node that can send but not hear). */
  blockLink(from: NodeId, to: NodeId): void {
    this.blockedLinks.add(linkKey(from, to));
  }

  /** Splits the nodes into groups that cannot talk to each other in either direction. */
  partition(groups: readonly (readonly NodeId[])[]): void {
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue;
        for (const from of a) for (const to of b) this.blockLink(from, to);
      }
    }
  }

  heal(): void {
    this.blockedLinks.clear();
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blockedLinks.has(linkKey(from, to));
  }

  blockedLinkCount(): number {
    return this.blockedLinks.size;
  }

  /**
   * Puts a message on the wire at tick `now`. Returns why it was dropped at once, if it was:
   * the host may then tell its core the peer is unreachable, as a real transport would.
   */
  send(envelope: Envelope, now: number): DropReason | null {
    this.stats.sent++;
    const { from, to } = envelope.message;
    if (this.isBlocked(from, to)) {
      this.stats.blocked++;
      return 'partition';
    }
    if (this.random.chance(this.faults.dropRate)) {
      this.stats.dropped++;
      return 'loss';
    }
    this.enqueue(envelope, now);
    if (this.random.chance(this.faults.duplicateRate)) {
      this.stats.duplicated++;
      this.enqueue(envelope, now);
    }
    return null;
  }

  /**
   * Removes and returns, in delivery order, the messages due at `now`. A message whose link was
   * cut while it was in flight is lost: it is returned in `lost` so the sender can be told.
   */
  takeDue(now: number): { delivered: Envelope[]; lost: Envelope[] } {
    const delivered: Envelope[] = [];
    const lost: Envelope[] = [];
    for (let head = this.queue.peek(); head !== undefined && head.deliverAt <= now; head = this.queue.peek()) {
      this.queue.pop();
      const { from, to } = head.envelope.message;
      if (this.isBlocked(from, to)) {
        this.stats.blocked++;
        lost.push(head.envelope);
      } else {
        this.stats.delivered++;
        delivered.push(head.envelope);
      }
    }
    return { delivered, lost };
  }

  inFlightCount(): number {
    return this.queue.size();
  }

  private enqueue(envelope: Envelope, now: number): void {
    const delay = this.random.nextInt(this.faults.delayTicksMin, this.faults.delayTicksMax + 1);
    this.queue.push({ deliverAt: now + delay, order: this.nextOrder++, envelope });
  }
}

function linkKey(from: NodeId, to: NodeId): string {
  return `${from}\u0000${to}`;
}

/** A binary min-heap: the wire holds hundreds of messages, delivered a few per tick. */
class MinQueue<T> {
  private readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => number) {}

  size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.less(items[i], items[parent]) >= 0) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && this.less(items[left], items[smallest]) < 0) smallest = left;
        if (right < items.length && this.less(items[right], items[smallest]) < 0) smallest = right;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest], items[i]];
        i = smallest;
      }
    }
    return top;
  }
}
