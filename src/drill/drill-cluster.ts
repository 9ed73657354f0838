/**
 * The cluster a drill acts on, whoever runs its processes: a ProcessCluster the drill started
 * itself, or a RemoteCluster (the cluster `npm start` supervises, driven through its control
 * API). Actions may be synchronous (a local signal) or not (an HTTP call): drills await them all.
 *
 * What both share is read over the nodes' own HTTP API (SPEC 3): status, the agreed leader,
 * waiting for a leader or for every node to apply. That part lives in ClusterStatusReader.
 */
import type { Exit } from './node-process.js';
import { until } from './poll.js';

const STATUS_TIMEOUT_MS = 1000;

/** The fields of GET /admin/status (SPEC 3) the drills read. */
export interface NodeStatus {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly leaderId: string | null;
  readonly commitIndex: number;
  readonly lastApplied: number;
  readonly lastLogIndex: number;
  readonly snapshot: { readonly index: number; readonly term: number; readonly bytes: number };
  readonly peers?: readonly { readonly id: string; readonly matchIndex: number; readonly nextIndex: number }[];
}

/** One member as a drill sees it. */
export interface DrillNodeView {
  readonly id: string;
  /** Its client API. */
  readonly url: string;
  /** A process is up (possibly paused). */
  readonly running: boolean;
  /** Between SIGSTOP and SIGCONT. */
  readonly paused: boolean;
}

export type { Exit };

export interface DrillCluster {
  readonly nodes: readonly DrillNodeView[];
  readonly endpoints: string[];
  /** Where the cluster lives, for the report: "local (temp dir)" or the control API's url. */
  readonly where: string;
  node(id: string): DrillNodeView;
  /** Sends a signal; answers once the process has exited. */
  kill(id: string, signal?: 'SIGKILL' | 'SIGTERM'): Promise<Exit>;
  /** SIGSTOP. */
  stop(id: string): void | Promise<void>;
  /** SIGCONT. */
  cont(id: string): void | Promise<void>;
  /** Starts a stopped node again on its port and data dir. */
  restart(id: string): void | Promise<void>;
  /** Cuts every peer link to and from `id`. */
  isolate(id: string): void | Promise<void>;
  healAll(): void | Promise<void>;
  /** Bytes `from` sent to `to` over their peer link so far. */
  bytesSent(from: string, to: string): number | Promise<number>;
  status(id: string, timeoutMs?: number): Promise<NodeStatus | null>;
  statuses(ids?: readonly string[]): Promise<NodeStatus[]>;
  agreedLeader(among?: readonly string[], termAbove?: number): Promise<{ id: string; term: number } | null>;
  waitForLeader(deadlineMs: number, among?: readonly string[], termAbove?: number): Promise<{ id: string; term: number }>;
  waitForAllApplied(deadlineMs: number): Promise<number>;
  /** What a failure message shows about the nodes (synchronous: it runs inside a poll's timeout). */
  describe(linesPerNode?: number): string;
  /** Ends the drill's hold on the cluster (a local cluster is stopped and removed). */
  destroy(): Promise<void>;
}

/** The read side of a DrillCluster, over the nodes' HTTP API. */
export abstract class ClusterStatusReader {
  abstract readonly nodes: readonly DrillNodeView[];
  abstract describe(linesPerNode?: number): string;

  node(id: string): DrillNodeView {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  get endpoints(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /** One node's status, or null when it does not answer (stopped, starting, too slow). */
  async status(id: string, timeoutMs = STATUS_TIMEOUT_MS): Promise<NodeStatus | null> {
    try {
      const r = await fetch(`${this.node(id).url}/admin/status`, { signal: AbortSignal.timeout(timeoutMs) });
      return r.ok ? ((await r.json()) as NodeStatus) : null;
    } catch {
      return null;
    }
  }

  /** Statuses of the given nodes (default: running and not paused) that answer. */
  async statuses(ids: readonly string[] = this.liveIds()): Promise<NodeStatus[]> {
    const answers = await Promise.all(ids.map((id) => this.status(id)));
    return answers.filter((s): s is NodeStatus => s !== null);
  }

  /**
   * The leader every one of `among` (default: running, unpaused nodes) names, itself leader in
   * that term, in a term above `termAbove`; null while there is none.
   */
  async agreedLeader(among?: readonly string[], termAbove = 0): Promise<{ id: string; term: number } | null> {
    const ids = among ?? this.liveIds();
    const statuses = await this.statuses(ids);
    if (statuses.length < ids.length) return null;
    const leader = statuses.find((s) => s.role === 'leader' && s.term > termAbove);
    if (leader === undefined) return null;
    return statuses.every((s) => s.leaderId === leader.id && s.term === leader.term) ? { id: leader.id, term: leader.term } : null;
  }

  async waitForLeader(deadlineMs: number, among?: readonly string[], termAbove = 0): Promise<{ id: string; term: number }> {
    return until(`a leader agreed by ${among?.join(', ') ?? 'every running node'} (term > ${termAbove})`, deadlineMs, async () => (await this.agreedLeader(among, termAbove)) ?? undefined, {
      intervalMs: 20,
      describe: () => this.describe(),
    });
  }

  /** Waits until every running node has applied the leader's commit index (read once). */
  async waitForAllApplied(deadlineMs: number): Promise<number> {
    const leader = await this.waitForLeader(deadlineMs);
    const commitIndex = (await this.status(leader.id))?.commitIndex ?? 0;
    const running = this.nodes.filter((n) => n.running).length;
    await until(`every node to apply up to ${commitIndex}`, deadlineMs, async () => {
      const statuses = await this.statuses();
      return statuses.length === running && statuses.every((s) => s.lastApplied >= commitIndex) ? true : undefined;
    }, { describe: () => this.describe() });
    return commitIndex;
  }

  private liveIds(): string[] {
    return this.nodes.filter((n) => n.running && !n.paused).map((n) => n.id);
  }
}
