/**
 * The peer RPC endpoints under `/raft/` (SPEC 4). Each takes a POST with an
 * `application/octet-stream` body in the binary format of message-codec.ts. The receiver steps
 * the messages into its core and answers once it has handled them (persisted what they carry):
 * 200 with a batch, in the same format, of the messages it has for the sender meanwhile (the
 * AppendEntriesResponse, the vote), or 204 when it has none. Answers thus ride back on the
 * response instead of a request of their own, which halves the requests and socket writes per
 * replicated write. Raft messages stay one-way: a message the receiver sends later goes by its
 * own connection, and either side may lose or reorder any of them.
 *
 *   /raft/append-entries    a batch of AppendEntries and AppendEntriesResponse
 *   /raft/request-vote      a batch of RequestVote and RequestVoteResponse (PreVote included)
 *   /raft/heartbeat         a batch of Heartbeat and HeartbeatResponse
 *   /raft/timeout-now       a batch of TimeoutNow
 *   /raft/messages          a batch mixing any of the above (what a busy sender mostly uses)
 *   /raft/install-snapshot  one chunk of a snapshot (see SnapshotChunk); the receiver steps the
 *                           InstallSnapshot into its core once the last chunk is on disk
 *
 * A message of a type its endpoint does not take, of another protocol version, not addressed to
 * this node or from a non-member is refused with 400; a bad or missing cluster token with 401.
 */
import type { Message, MessageType } from '../core/messages.js';

export const SNAPSHOT_ROUTE = 'install-snapshot';
export const MIXED_ROUTE = 'messages';

const FAMILY_ROUTES: Readonly<Record<Exclude<MessageType, 'InstallSnapshot'>, string>> = {
  AppendEntries: 'append-entries',
  AppendEntriesResponse: 'append-entries',
  RequestVote: 'request-vote',
  RequestVoteResponse: 'request-vote',
  Heartbeat: 'heartbeat',
  HeartbeatResponse: 'heartbeat',
  TimeoutNow: 'timeout-now',
};

export const MESSAGE_ROUTES: ReadonlySet<string> = new Set([...Object.values(FAMILY_ROUTES), MIXED_ROUTE]);

/** The endpoint for a batch: its family's if all its messages share one, else the mixed one. */
export function routeForBatch(batch: readonly Message[]): string {
  let route: string | null = null;
  for (const m of batch) {
    if (m.type === 'InstallSnapshot') throw new Error('InstallSnapshot is streamed in chunks, never batched');
    const family = FAMILY_ROUTES[m.type];
    if (route === null) route = family;
    else if (route !== family) return MIXED_ROUTE;
  }
  return route ?? MIXED_ROUTE;
}

/** Whether `route` accepts a message of `type`. */
export function routeAccepts(route: string, type: MessageType): boolean {
  if (type === 'InstallSnapshot') return false;
  return route === MIXED_ROUTE || FAMILY_ROUTES[type] === route;
}
