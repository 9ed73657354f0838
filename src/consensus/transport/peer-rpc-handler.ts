import { timingSafeEqual } from 'node:crypto';
import type { Message, NodeId } from '../core/messages.js';
import type { HostLog } from '../host-ports.js';
import { kv } from '../host-ports.js';
import { decodeBatch, decodeSnapshotChunk, encodeBatch, MessageDecodeError, ProtocolVersionError } from './message-codec.js';
import { MESSAGE_ROUTES, routeAccepts, SNAPSHOT_ROUTE } from './peer-routes.js';
import { isStorageFailure, SnapshotChunkRefusedError, type SnapshotReceiver } from './snapshot-receiver.js';

export interface PeerRpcAnswer {
  readonly status: number;
  /** SPEC's error shape; absent on success (200 with `reply`, or 204). */
  readonly body?: { readonly error: string; readonly message: string };
  /** On 200: the encoded batch of this node's answers to the sender (application/octet-stream). */
  readonly reply?: Uint8Array;
}

export interface PeerRpcSink {
  /**
   * Steps a batch into the core. A promise: it resolves, once the node has handled the batch,
   * with the messages that answer the sender in the same exchange (see peer-routes.ts).
   */
  stepAll(messages: readonly Message[]): void | Promise<readonly Message[]>;
  /** A well-formed batch for this node arrived (counted before stepping). */
  received(messages: readonly Message[]): void;
  /** Heard from `peer` just now (for lastContactMs). */
  noteContact(peer: NodeId): void;
  /** A disk failure while storing a received snapshot: the node must stop. */
  fatal(error: unknown): void;
}

export interface PeerRpcOptions {
  readonly nodeId: NodeId;
  readonly members: readonly NodeId[];
  readonly clusterToken: string | null;
}

const NO_CONTENT: PeerRpcAnswer = { status: 204 };
const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * `/raft/*` without the web framework (see peer-routes.ts for the endpoints): checks the cluster
 * token, decodes the binary body, refuses what is not for this node, and hands the messages to
 * the core. The Nest controller and tests call it alike.
 */
export class PeerRpcHandler {
  private readonly expectedAuthorization: Buffer | null;
  private readonly members: ReadonlySet<NodeId>;

  constructor(
    private readonly options: PeerRpcOptions,
    private readonly sink: PeerRpcSink,
    private readonly receiver: SnapshotReceiver,
    private readonly log: HostLog,
  ) {
    this.expectedAuthorization = options.clusterToken === null ? null : Buffer.from(options.clusterToken, 'utf8');
    this.members = new Set(options.members);
  }

  isKnownRoute(route: string): boolean {
    return route === SNAPSHOT_ROUTE || MESSAGE_ROUTES.has(route);
  }

  /** Constant-time check of `Authorization: Bearer <token>`; always true without a cluster token. */
  isAuthorized(authorization: string | undefined): boolean {
    const expected = this.expectedAuthorization;
    if (expected === null) return true;
    const presented = authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
    if (presented === undefined) return false;
    const given = Buffer.from(presented, 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  unauthorized(): PeerRpcAnswer {
    return { status: 401, body: { error: 'unauthorized', message: 'peer RPC needs Authorization: Bearer <cluster token>' } };
  }

  async handle(route: string, authorization: string | undefined, body: Buffer): Promise<PeerRpcAnswer> {
    if (!this.isAuthorized(authorization)) return this.unauthorized();
    if (!this.isKnownRoute(route)) return { status: 404, body: { error: 'not_found', message: `no peer endpoint /raft/${route}` } };
    try {
      if (route === SNAPSHOT_ROUTE) return await this.handleSnapshotChunk(body);
      return await this.handleBatch(route, body);
    } catch (error) {
      if (error instanceof ProtocolVersionError || error instanceof MessageDecodeError) {
        return this.refuse(400, 'bad_request', error.message);
      }
      if (error instanceof SnapshotChunkRefusedError) return this.refuse(409, 'conflict', error.message);
      if (isStorageFailure(error)) {
        this.sink.fatal(error);
        return this.refuse(503, 'unavailable', 'storing the snapshot failed');
      }
      throw error;
    }
  }

  private async handleBatch(route: string, body: Buffer): Promise<PeerRpcAnswer> {
    const messages = decodeBatch(body);
    for (const m of messages) {
      const problem = this.problemWith(m);
      if (problem !== null) return this.refuse(400, 'bad_request', problem);
      if (!routeAccepts(route, m.type)) return this.refuse(400, 'bad_request', `/raft/${route} does not take ${m.type}`);
    }
    const from = messages[0]?.from;
    if (from !== undefined) this.sink.noteContact(from);
    this.sink.received(messages);
    const replies = await this.sink.stepAll(messages);
    if (replies === undefined || replies.length === 0) return NO_CONTENT;
    return { status: 200, reply: encodeBatch(replies) };
  }

  private async handleSnapshotChunk(body: Buffer): Promise<PeerRpcAnswer> {
    const chunk = decodeSnapshotChunk(body);
    const problem = this.problemWith(chunk.message);
    if (problem !== null) return this.refuse(400, 'bad_request', problem);
    this.sink.noteContact(chunk.message.from);
    await this.receiver.receive(chunk);
    return NO_CONTENT;
  }

  private problemWith(m: Message): string | null {
    if (m.to !== this.options.nodeId) return `message for ${m.to} reached ${this.options.nodeId} (check --peers)`;
    if (!this.members.has(m.from) || m.from === this.options.nodeId) return `message from ${m.from}, not a peer of ${this.options.nodeId}`;
    return null;
  }

  private refuse(status: number, error: string, message: string): PeerRpcAnswer {
    this.log.warn(`event=peer_rpc_refused ${kv({ status, error, message })}`);
    return { status, body: { error, message } };
  }
}
