import type { InstallSnapshot, Message, NodeId } from '../core/messages.js';
import type { PeerConfig } from '../../config/raft-config.js';
import type { Clock, HostLog, HostMetrics, HostSnapshotStore, HostTransport } from '../host-ports.js';
import { kv } from '../host-ports.js';
import { PeerChannel, type BatchPoster, type PeerChannelOptions } from './peer-channel.js';
import { decodeBatch } from './message-codec.js';
import { PeerEndpoint } from './peer-endpoint.js';
import { observeBatch, type PeerTrafficMetrics } from './peer-traffic.js';
import { SnapshotSender } from './snapshot-sender.js';

export interface PeerTransportOptions {
  /** This node: replies must come from the peer asked and be addressed here. */
  readonly nodeId: NodeId;
  readonly peers: readonly PeerConfig[];
  readonly clusterToken: string | null;
  readonly requestTimeoutMs: number;
  readonly snapshotChunkBytes: number;
  readonly channel: PeerChannelOptions;
}

/** What the transport tells the Raft host. */
export interface PeerTransportSink {
  /** Messages a peer replied with (checked: from that peer, to this node). */
  stepAll(messages: readonly Message[]): void;
  reportUnreachable(peer: NodeId): void;
  reportSnapshot(peer: NodeId, ok: boolean): void;
}

/** Opens the connections to a peer: one for messages, one for snapshot streams. Tests pass fakes. */
export type PosterFactory = (peer: PeerConfig, purpose: 'messages' | 'snapshots') => BatchPoster & { close?(): Promise<void> };

/**
 * The host's transport (HostTransport): one PeerChannel per peer for messages, and a separate
 * connection per peer for snapshot streams, so neither a slow peer nor a long snapshot transfer
 * delays anything else. Tracks when each peer was last heard from or reached.
 */
export class PeerTransport implements HostTransport {
  private readonly nodeId: NodeId;
  private readonly channels = new Map<NodeId, PeerChannel>();
  private readonly snapshotPosters = new Map<NodeId, BatchPoster & { close?(): Promise<void> }>();
  private readonly messagePosters: (BatchPoster & { close?(): Promise<void> })[] = [];
  private readonly snapshots: SnapshotSender;
  private readonly lastContact = new Map<NodeId, number>();
  private readonly unreachable = new Set<NodeId>();
  /** Per peer, the replies being gathered for its requests in progress here (newest last). */
  private readonly replySlots = new Map<NodeId, Message[][]>();
  private sink: PeerTransportSink | null = null;

  constructor(
    options: PeerTransportOptions,
    store: HostSnapshotStore,
    private readonly metrics: HostMetrics & PeerTrafficMetrics,
    private readonly log: HostLog,
    private readonly clock: Clock,
    posterFactory: PosterFactory = defaultPosterFactory(options),
  ) {
    this.nodeId = options.nodeId;
    for (const peer of options.peers) {
      const poster = posterFactory(peer, 'messages');
      this.messagePosters.push(poster);
      this.channels.set(
        peer.id,
        new PeerChannel(peer.id, poster, options.channel, {
          delivered: (id) => this.onDelivered(id),
          failed: (id, error, first) => this.onFailed(id, error, first),
          replied: (id, reply) => this.onReplied(id, reply),
          dropped: () => undefined,
          sent: (_, batch) => observeBatch(this.metrics, 'sent', batch),
        }),
      );
      this.snapshotPosters.set(peer.id, posterFactory(peer, 'snapshots'));
    }
    this.snapshots = new SnapshotSender(store, (id) => this.snapshotPosters.get(id), options.snapshotChunkBytes, {
      finished: (peer, ok) => {
        if (ok) {
          this.metrics.incSnapshots('sent');
          this.noteContact(peer);
        }
        this.sink?.reportSnapshot(peer, ok);
      },
    }, log);
  }

  /** Where reports go: the host, once it exists. */
  attach(sink: PeerTransportSink): void {
    this.sink = sink;
  }

  send(messages: readonly Message[]): void {
    const touched = new Set<PeerChannel>();
    for (const m of messages) {
      if (m.type === 'InstallSnapshot') {
        this.snapshots.send(m as InstallSnapshot);
        continue;
      }
      const slots = this.replySlots.get(m.to);
      if (slots !== undefined && slots.length > 0) {
        (slots[slots.length - 1] as Message[]).push(m);
        continue;
      }
      const channel = this.channels.get(m.to);
      if (channel === undefined) continue;
      channel.enqueue(m);
      touched.add(channel);
    }
    for (const channel of touched) channel.flush();
  }

  /**
   * Runs `step` (a batch from `peer` going into the core) and, until `settled` resolves (the
   * node has handled it: persisted, answered), diverts every message for `peer` into the reply
   * instead of the channel, so the answers ride back on the response to the peer's request.
   * A message sent after that goes by the channel as usual.
   */
  async gatherReplies(peer: NodeId, step: () => void, settled: () => Promise<void>): Promise<readonly Message[]> {
    const slot: Message[] = [];
    let slots = this.replySlots.get(peer);
    if (slots === undefined) this.replySlots.set(peer, (slots = []));
    slots.push(slot);
    try {
      step();
      await settled();
    } finally {
      slots.splice(slots.indexOf(slot), 1);
    }
    return slot;
  }

  noteContact(peer: NodeId): void {
    this.lastContact.set(peer, this.clock.now());
  }

  lastContactAt(peer: NodeId): number | null {
    return this.lastContact.get(peer) ?? null;
  }

  async close(): Promise<void> {
    this.snapshots.close();
    for (const channel of this.channels.values()) channel.close();
    const posters = [...this.messagePosters, ...this.snapshotPosters.values()];
    await Promise.all(posters.map((p) => p.close?.()));
  }

  private onDelivered(peer: NodeId): void {
    this.noteContact(peer);
    if (this.unreachable.delete(peer)) this.log.log(`event=peer_reachable ${kv({ peer })}`);
  }

  private onReplied(peer: NodeId, reply: Uint8Array): void {
    let messages: Message[];
    try {
      messages = decodeBatch(Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength));
    } catch (error) {
      this.log.warn(`event=peer_reply_refused ${kv({ peer, error: describe(error) })}`);
      return;
    }
    const stray = messages.find((m) => m.from !== peer || m.to !== this.nodeId || m.type === 'InstallSnapshot');
    if (stray !== undefined) {
      this.log.warn(`event=peer_reply_refused ${kv({ peer, error: `${stray.type} from ${stray.from} to ${stray.to} in a reply of ${peer} to ${this.nodeId}` })}`);
      return;
    }
    if (messages.length === 0) return;
    observeBatch(this.metrics, 'received', messages);
    this.sink?.stepAll(messages);
  }

  private onFailed(peer: NodeId, error: unknown, first: boolean): void {
    if (first && !this.unreachable.has(peer)) {
      this.unreachable.add(peer);
      this.log.warn(`event=peer_unreachable ${kv({ peer, error: describe(error) })}`);
    }
    this.sink?.reportUnreachable(peer);
  }
}

function defaultPosterFactory(options: PeerTransportOptions): PosterFactory {
  const authorization = options.clusterToken === null ? null : `Bearer ${options.clusterToken}`;
  return (peer) => new PeerEndpoint(peer.url, { requestTimeoutMs: options.requestTimeoutMs, authorization });
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return code !== undefined ? `${code}: ${error.message}` : error.message;
  }
  return String(error);
}
