/**
 * `GET /admin/cluster`: this node's status and every other member's own `/admin/status`,
 * fetched in parallel with a short timeout, so one dead member costs at most that timeout and
 * is reported as unreachable rather than failing the whole answer.
 */
import { Injectable } from '@nestjs/common';
import { RaftConfig } from '../config/raft-config.js';
import { KvNode, type NodeStatus } from '../consensus/kv-node.port.js';

/** A member's status is worth little if it takes longer than this to come. */
export const MEMBER_STATUS_TIMEOUT_MS = 1000;

export type MemberView =
  | (NodeStatus & { readonly url: string | null; readonly reachable: true; readonly self: boolean })
  | { readonly id: string; readonly url: string | null; readonly reachable: false; readonly self: false; readonly error: string };

export interface ClusterView {
  /** The member that answered. */
  readonly nodeId: string;
  /** This member's view of the leader. */
  readonly leaderId: string | null;
  readonly members: readonly MemberView[];
}

@Injectable()
export class ClusterStatusService {
  constructor(
    private readonly config: RaftConfig,
    private readonly node: KvNode,
  ) {}

  async collect(): Promise<ClusterView> {
    const own = this.node.status();
    const others = await Promise.all(this.config.peers.map((peer) => this.memberStatus(peer.id, this.node.memberUrl(peer.id) ?? peer.url)));
    return {
      nodeId: own.id,
      leaderId: own.leaderId,
      members: [{ ...own, url: this.node.memberUrl(own.id), reachable: true, self: true }, ...others],
    };
  }

  private async memberStatus(id: string, url: string): Promise<MemberView> {
    try {
      const answer = await fetch(`${url.replace(/\/+$/, '')}/admin/status`, { signal: AbortSignal.timeout(MEMBER_STATUS_TIMEOUT_MS) });
      if (!answer.ok) {
        await answer.body?.cancel();
        return { id, url, reachable: false, self: false, error: `HTTP ${answer.status}` };
      }
      const status = (await answer.json()) as NodeStatus;
      return { ...status, url, reachable: true, self: false };
    } catch (error) {
      return { id, url, reachable: false, self: false, error: describeFetchError(error) };
    }
  }
}

function describeFetchError(error: unknown): string {
  // Duck-typed rather than `instanceof Error`: fetch's errors may come from another realm.
  if (typeof error !== 'object' || error === null) return String(error);
  const { name, message, cause } = error as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (name === 'TimeoutError') return `no answer within ${MEMBER_STATUS_TIMEOUT_MS} ms`;
  // fetch wraps the socket error ("fetch failed"); its cause says what happened (ECONNREFUSED ...).
  return cause?.code ?? cause?.message ?? message ?? String(error);
}
