import type { Entry, NodeId } from '../../src/consensus/core/messages.js';
import type { Prng } from '../../src/consensus/core/prng.js';
import type { ProposeResult, ReadIndexResult } from '../../src/consensus/core/raft.js';
import { writeToken } from '../../src/history-checks/exactly-once.js';
import type { HistoryRecorder } from '../../src/history-checks/history.js';
import { encodeCommand, type KvApplyOutcome, type KvOp, type KvResult } from '../../src/history-checks/kv-model.js';

/**
 * Simulated clients, as SPEC 2 describes them: each runs one op at a time, writes carry
 * clientId+seq, and a write that timed out or whose outcome became unknown is retried with the
 * SAME clientId+seq on another node, so the session table must answer it exactly once.
 *
 * A write completes when the node it was proposed to applies the entry at the index and term
 * its proposal returned; a different entry there means this attempt's outcome is unknown, so
 * the client retries. A read goes through ReadIndex and completes when that node serves it.
 */

/** What a client needs from a node: the requests a real client could send it. */
export interface ClientFacingNode {
  /** Null: no answer at all (crashed or stalled); the client waits for its timeout. */
  propose(data: Uint8Array): ProposeResult | null;
  readIndex(context: string): ReadIndexResult | null;
  read(key: string): string | null;
  readonly alive: boolean;
}

export interface ClientOptions {
  readonly clientCount: number;
  /** Keys that see every kind of op. */
  readonly keys: readonly string[];
  /** Keys that are only appended to (and read), so exactly-once can count every append. */
  readonly appendOnlyKeys: readonly string[];
  /** Ticks a client waits for an answer before retrying elsewhere. */
  readonly requestTimeoutTicks: number;
  /** Ticks a client waits after a refusal (no leader known, too many uncommitted) before retrying. */
  readonly retryBackoffTicks: number;
  /** Upper bound on the ticks a client idles between ops. */
  readonly thinkTicksMax: number;
  /**
   * A client gives up on an op once it has been pending this long (a caller's deadline) and
   * moves on to its next op with the next seq; the abandoned op's outcome stays unknown: it may
   * still commit later, or be refused as stale_sequence once a newer write applied.
   * Infinity: never give up. Only in the fault phase: after stopIssuing, every op must finish.
   */
  readonly giveUpAfterTicks: number;
}

type Waiting =
  | { readonly kind: 'applied'; readonly node: NodeId; readonly index: number; readonly term: number }
  | { readonly kind: 'read'; readonly node: NodeId; readonly context: string }
  | { readonly kind: 'backoff' };

interface InFlightOp {
  readonly historyId: number;
  readonly invokedAt: number;
  readonly seq: number;
  readonly op: KvOp;
  readonly command: Uint8Array | null;
  attempt: number;
  waiting: Waiting;
  /** Tick at which the current wait gives up and the op is retried. */
  retryAt: number;
}

interface ClientState {
  readonly id: string;
  seq: number;
  leaderGuess: NodeId;
  nextOpAt: number;
  current: InFlightOp | null;
  /** Last value this client saw per key: what its compare-and-sets expect. */
  readonly lastSeen: Map<string, string | null>;
}

export interface ClientStats {
  invoked: number;
  completed: number;
  /** Ops given up at their deadline: their outcome is unknown in the history. */
  abandoned: number;
  /** Attempts that got no answer in time and were retried elsewhere. */
  retries: number;
  /** Attempts whose log index was taken by another entry (outcome unknown), retried. */
  unknownAttempts: number;
}

export class ClientPool {
  private readonly clients: ClientState[];
  private readonly appliedWaits = new Map<string, ClientState>();
  private readonly readWaits = new Map<string, ClientState>();
  private issuing = true;
  private now = 0;
  readonly stats: ClientStats = { invoked: 0, completed: 0, abandoned: 0, retries: 0, unknownAttempts: 0 };
  /** Protocol breaches the clients saw (an answer no correct cluster gives). */
  readonly violations: string[] = [];

  constructor(
    private readonly options: ClientOptions,
    private readonly nodeIds: readonly NodeId[],
    private readonly nodes: (id: NodeId) => ClientFacingNode,
    private readonly random: Prng,
    private readonly history: HistoryRecorder,
    private readonly trace: ((line: string) => void) | null,
  ) {
    this.clients = Array.from({ length: options.clientCount }, (_, i) => ({
      id: `c${i + 1}`,
      seq: 0,
      leaderGuess: random.pick(nodeIds),
      nextOpAt: random.nextInt(0, options.thinkTicksMax + 1),
      current: null,
      lastSeen: new Map(),
    }));
  }

  /** Liveness phase: finish what is pending, start nothing new. */
  stopIssuing(): void {
    this.issuing = false;
  }

  pendingCount(): number {
    return this.clients.filter((c) => c.current !== null).length;
  }

  describePending(): string[] {
    return this.clients
      .filter((c) => c.current !== null)
      .map((c) => `${c.id}#${c.current?.seq} ${JSON.stringify(c.current?.op)} attempt ${c.current?.attempt} waiting ${JSON.stringify(c.current?.waiting)}`);
  }

  tick(now: number): void {
    this.now = now;
    for (const client of this.clients) {
      const current = client.current;
      if (current === null) {
        if (this.issuing && now >= client.nextOpAt) this.startOp(client);
        continue;
      }
      if (now < current.retryAt) continue;
      if (this.issuing && now - current.invokedAt >= this.options.giveUpAfterTicks) {
        this.abandon(client, current);
        continue;
      }
      if (current.waiting.kind !== 'backoff') {
        // No answer in time: the outcome of this attempt is unknown; try another node.
        this.stats.retries++;
        client.leaderGuess = this.otherNode(current.waiting.node);
      }
      this.attempt(client, current);
    }
  }

  /** A node applied an entry: completes the write waiting on that index, if any. */
  onApplied(node: NodeId, entry: Entry, outcome: KvApplyOutcome | undefined): void {
    const key = `${node}/${entry.index}`;
    const client = this.appliedWaits.get(key);
    if (client === undefined) return;
    this.appliedWaits.delete(key);
    const current = client.current;
    const waiting = current?.waiting;
    if (current === null || waiting?.kind !== 'applied' || waiting.node !== node || waiting.index !== entry.index) return;
    if (entry.term === waiting.term && outcome !== undefined) {
      this.complete(client, current, outcome.result);
      return;
    }
    // Another entry won this index: our proposal was lost, or may still commit elsewhere.
    // Either way the session table makes a retry with the same seq safe.
    this.stats.unknownAttempts++;
    this.trace?.(`client ${client.id}#${current.seq} lost index ${entry.index} on ${node}; retrying`);
    client.leaderGuess = this.otherNode(node);
    this.attempt(client, current);
  }

  onReadServed(node: NodeId, context: string): void {
    const client = this.readWaits.get(context);
    if (client === undefined) return;
    this.readWaits.delete(context);
    const current = client.current;
    const waiting = current?.waiting;
    if (current === null || current.op.kind !== 'get' || waiting?.kind !== 'read' || waiting.context !== context) return;
    this.complete(client, current, { kind: 'get', value: this.nodes(node).read(current.op.key) });
  }

  /** The node lost its volatile state: nothing it was asked will be answered. */
  onNodeCrashed(node: NodeId): void {
    for (const [key, client] of [...this.appliedWaits]) {
      if (key.startsWith(`${node}/`)) {
        this.appliedWaits.delete(key);
        if (client.current !== null) client.current.retryAt = Math.min(client.current.retryAt, this.now + 1);
      }
    }
    for (const [context, client] of [...this.readWaits]) {
      const waiting = client.current?.waiting;
      if (waiting?.kind === 'read' && waiting.node === node) {
        this.readWaits.delete(context);
        if (client.current !== null) client.current.retryAt = Math.min(client.current.retryAt, this.now + 1);
      }
    }
  }

  private startOp(client: ClientState): void {
    client.seq++;
    const op = this.chooseOp(client);
    const command = op.kind === 'get' ? null : encodeCommand({ clientId: client.id, seq: client.seq, op });
    const historyId = this.history.invoke(client.id, client.seq, op, this.now);
    this.stats.invoked++;
    const current: InFlightOp = {
      historyId,
      invokedAt: this.now,
      seq: client.seq,
      op,
      command,
      attempt: 0,
      waiting: { kind: 'backoff' },
      retryAt: this.now,
    };
    client.current = current;
    this.attempt(client, current);
  }

  private chooseOp(client: ClientState): KvOp {
    const { keys, appendOnlyKeys } = this.options;
    const roll = this.random.nextInt(0, 100);
    if (appendOnlyKeys.length > 0 && roll < 25) {
      const key = this.random.pick(appendOnlyKeys);
      return roll < 8 ? { kind: 'get', key } : { kind: 'append', key, value: writeToken('append', client.id, client.seq) };
    }
    const key = this.random.pick(keys);
    if (roll < 50) return { kind: 'get', key };
    if (roll < 65) return { kind: 'put', key, value: writeToken('put', client.id, client.seq) };
    if (roll < 78) return { kind: 'append', key, value: writeToken('append', client.id, client.seq) };
    if (roll < 85) return { kind: 'delete', key };
    const expected = client.lastSeen.has(key) ? (client.lastSeen.get(key) ?? null) : null;
    return { kind: 'cas', key, expected, value: writeToken('cas', client.id, client.seq) };
  }

  private attempt(client: ClientState, current: InFlightOp): void {
    this.forgetWait(current);
    current.attempt++;
    const target = client.leaderGuess;
    const node = this.nodes(target);
    const timeoutAt = this.now + this.options.requestTimeoutTicks;
    if (!node.alive) {
      // Connection refused: move on quickly.
      client.leaderGuess = this.otherNode(target);
      this.backoff(current);
      return;
    }
    if (current.command !== null) {
      const answer = node.propose(current.command);
      if (answer === null) {
        current.waiting = { kind: 'backoff' };
        current.retryAt = timeoutAt;
        client.leaderGuess = this.otherNode(target);
      } else if (answer.ok) {
        current.waiting = { kind: 'applied', node: target, index: answer.index, term: answer.term };
        current.retryAt = timeoutAt;
        this.appliedWaits.set(`${target}/${answer.index}`, client);
      } else {
        if (answer.reason === 'too_large') this.violations.push(`client ${client.id}: small proposal refused as too_large`);
        this.redirect(client, target, answer.leaderId, answer.reason === 'not_leader');
        this.backoff(current);
      }
      return;
    }
    const context = `${client.id}.${current.seq}.${current.attempt}`;
    const answer = node.readIndex(context);
    if (answer === null) {
      current.waiting = { kind: 'backoff' };
      current.retryAt = timeoutAt;
      client.leaderGuess = this.otherNode(target);
    } else if (answer.ok) {
      current.waiting = { kind: 'read', node: target, context };
      current.retryAt = timeoutAt;
      this.readWaits.set(context, client);
    } else {
      this.redirect(client, target, answer.leaderId, true);
      this.backoff(current);
    }
  }

  /** A late answer to an abandoned attempt is ignored: the retry will get its own. */
  private forgetWait(current: InFlightOp): void {
    const waiting = current.waiting;
    if (waiting.kind === 'applied') this.appliedWaits.delete(`${waiting.node}/${waiting.index}`);
    if (waiting.kind === 'read') this.readWaits.delete(waiting.context);
    current.waiting = { kind: 'backoff' };
  }

  private redirect(client: ClientState, refusedBy: NodeId, leaderId: NodeId | null, notLeader: boolean): void {
    if (leaderId !== null && leaderId !== refusedBy) client.leaderGuess = leaderId;
    else if (notLeader) client.leaderGuess = this.otherNode(refusedBy);
  }

  private backoff(current: InFlightOp): void {
    current.waiting = { kind: 'backoff' };
    current.retryAt = this.now + this.options.retryBackoffTicks;
  }

  /** The caller's deadline passed: the op stays open (unknown) in the history; the client moves on. */
  private abandon(client: ClientState, current: InFlightOp): void {
    this.forgetWait(current);
    this.stats.abandoned++;
    this.trace?.(`client ${client.id}#${current.seq} ${JSON.stringify(current.op)} gives up after ${current.attempt} attempts: outcome unknown`);
    // What it last saw may have been overwritten by its own abandoned write: its next cas may fail, which is fine.
    client.current = null;
    client.nextOpAt = this.now + this.random.nextInt(0, this.options.thinkTicksMax + 1);
  }

  private complete(client: ClientState, current: InFlightOp, result: KvResult): void {
    if (result.kind === 'stale_sequence') {
      this.violations.push(`client ${client.id}#${current.seq}: stale_sequence for its own latest write`);
    }
    this.history.complete(current.historyId, result, this.now);
    this.stats.completed++;
    this.trace?.(`client ${client.id}#${current.seq} ${JSON.stringify(current.op)} -> ${JSON.stringify(result)}`);
    if (result.kind === 'get' || result.kind === 'put' || result.kind === 'append' || result.kind === 'cas') {
      client.lastSeen.set(current.op.key, result.value);
    } else if (result.kind === 'delete') {
      client.lastSeen.set(current.op.key, null);
    }
    client.current = null;
    client.nextOpAt = this.now + this.random.nextInt(0, this.options.thinkTicksMax + 1);
  }

  private otherNode(than: NodeId): NodeId {
    const others = this.nodeIds.filter((id) => id !== than);
    return this.random.pick(others.length > 0 ? others : this.nodeIds);
  }
}
