/**
 * The admin API's answers (SPEC 3) as the client sees them. Fields the contract does not
 * name are kept but not typed.
 */

import type { NodeStatus } from '../consensus/kv-node.port.js';

export type NodeRole = 'follower' | 'pre-candidate' | 'candidate' | 'leader' | string;

/**
 * `GET /admin/status`: the server's own declaration of SPEC 3's body, imported as a type only
 * (erased at run time, so the client still needs nothing of the server to run). `role` is
 * widened so a newer server's role names still parse.
 */
export type NodeStatusAnswer = Omit<NodeStatus, 'nodeId' | 'role'> & { readonly role: NodeRole };

/** One member in `GET /admin/cluster`: its own status, or why it could not be had. */
export type ClusterMember =
  | (NodeStatusAnswer & { readonly reachable: true; readonly url: string | null })
  | { readonly id: string; readonly reachable: false; readonly url: string | null; readonly error: string };

/** `GET /admin/cluster`, normalised by parseClusterAnswer. */
export interface ClusterAnswer {
  /** The member that answered, when it said. */
  readonly nodeId: string | null;
  /** The answering member's view of the leader. */
  readonly leaderId: string | null;
  readonly members: readonly ClusterMember[];
}

/** `POST /admin/snapshot`. */
export interface SnapshotAnswer {
  readonly index: number;
  readonly term: number;
  readonly bytes: number;
}

/** `POST /admin/transfer-leadership`. */
export interface TransferAnswer {
  readonly from: string;
  readonly to: string;
}

/** KvClient.leader(): the leader as the members that answered see it. */
export interface LeaderInfo {
  readonly leaderId: string;
  readonly term: number;
  /** The client endpoint serving the leader, when one of the client's endpoints is it. */
  readonly endpoint: string | null;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

/**
 * SPEC 3 says only "every member's status as seen from this node; unreachable members marked
 * so". Accepts `{nodeId, leaderId, members: [...]}` (this project's server), a bare array of
 * members, or an object keyed by member id; a member is unreachable when it says
 * `reachable: false` or carries no `role`. Throws on anything else.
 */
export function parseClusterAnswer(body: unknown): ClusterAnswer {
  let rawMembers: unknown[];
  let nodeId: string | null = null;
  let leaderId: string | null = null;
  if (Array.isArray(body)) {
    rawMembers = body;
  } else if (isObject(body) && Array.isArray(body.members)) {
    rawMembers = body.members;
    nodeId = stringOrNull(body.nodeId);
    leaderId = stringOrNull(body.leaderId);
  } else if (isObject(body)) {
    rawMembers = Object.entries(body).map(([id, member]) => (isObject(member) ? { id, ...member } : { id, reachable: false }));
  } else {
    throw new Error('cluster answer is neither a list nor an object of members');
  }
  const members = rawMembers.map((raw, position): ClusterMember => {
    if (!isObject(raw)) throw new Error(`cluster member #${position} is not an object`);
    const id = stringOrNull(raw.id) ?? stringOrNull(raw.nodeId) ?? `#${position}`;
    const url = stringOrNull(raw.url);
    if (raw.reachable === false || typeof raw.role !== 'string') {
      const error = stringOrNull(raw.error) ?? 'unreachable';
      return { id, url, reachable: false, error };
    }
    return { ...(raw as unknown as NodeStatusAnswer), id, url, reachable: true };
  });
  if (leaderId === null) {
    // A bare list: the leader is what the member with the highest term believes.
    const reachable = members.filter((m): m is Extract<ClusterMember, { reachable: true }> => m.reachable);
    reachable.sort((a, b) => b.term - a.term);
    leaderId = reachable.find((m) => m.leaderId)?.leaderId ?? null;
  }
  return { nodeId, leaderId, members };
}
