/**
 * A KvNode for HTTP tests: a real KvStateMachine, no Raft. The test decides the role, the
 * leader, and the outcome of the next writes and read barriers.
 */
import type { KvWriteAnswer, KvWriteCommand } from '../../../src/kv/commands.js';
import { KvStateMachine } from '../../../src/kv/kv-state-machine.js';
import { KvNode, type NodeIdentity, type NodeStatus, NotLeaderError, StaleSequenceError } from '../../../src/consensus/kv-node.port.js';
import type { Role } from '../../../src/consensus/core/ready.js';

export class FakeKvNode extends KvNode {
  readonly stateMachine = new KvStateMachine();
  role: Role = 'leader';
  leaderId: string | null;
  term = 1;
  ready = true;
  /** Client URLs of the members, for forwarding. */
  readonly urls = new Map<string, string>();
  /** Thrown by the next write or read barrier instead of serving it (then cleared). */
  failNext: Error | null = null;
  /** Holds writes until released: to test timeouts of forwarded requests. */
  writeGate: Promise<void> | null = null;
  readonly writes: Omit<KvWriteCommand, 'timeMs'>[] = [];
  readBarriers = 0;
  snapshots = 0;
  transfers: (string | undefined)[] = [];
  private index = 0;

  constructor(readonly nodeId: string) {
    super();
    this.leaderId = nodeId;
  }

  /** Makes this node a follower of `leaderId` (null: no leader known). */
  follow(leaderId: string | null): this {
    this.role = 'follower';
    this.leaderId = leaderId;
    return this;
  }

  identity(): NodeIdentity {
    return { nodeId: this.nodeId, role: this.role, term: this.term, leaderId: this.leaderId };
  }

  memberUrl(id: string): string | null {
    return this.urls.get(id) ?? null;
  }

  async write(command: Omit<KvWriteCommand, 'timeMs'>): Promise<KvWriteAnswer> {
    this.takeFailure();
    this.assertLeader();
    if (this.writeGate !== null) await this.writeGate;
    this.writes.push(command);
    const result = this.stateMachine.apply(++this.index, { ...command, timeMs: 1_000_000 + this.index } as KvWriteCommand);
    if (!result.ok) throw new StaleSequenceError(result.message, result.latestSeq);
    return result.answer as KvWriteAnswer;
  }

  async readBarrier(): Promise<void> {
    this.takeFailure();
    this.assertLeader();
    this.readBarriers++;
  }

  status(): NodeStatus {
    return {
      ...this.identity(),
      id: this.nodeId,
      votedFor: this.leaderId,
      commitIndex: this.index,
      lastApplied: this.stateMachine.appliedIndex,
      lastLogIndex: this.index,
      lastLogTerm: this.term,
      snapshot: { index: 0, term: 0, bytes: 0 },
      wal: { segments: 1, bytes: 100 * this.index, firstIndex: 1 },
      peers: [],
      keys: this.stateMachine.keyCount,
      sessions: this.stateMachine.sessionCount,
      uptimeMs: 1234,
    };
  }

  isReady(): boolean {
    return this.ready;
  }

  async takeSnapshot(): Promise<{ index: number; term: number; bytes: number }> {
    this.snapshots++;
    return { index: this.index, term: this.term, bytes: this.stateMachine.snapshot().toBytes().length };
  }

  async transferLeadership(to?: string): Promise<{ from: string; to: string }> {
    this.assertLeader();
    this.transfers.push(to);
    return { from: this.nodeId, to: to ?? 'n2' };
  }

  private assertLeader(): void {
    if (this.role !== 'leader') {
      throw new NotLeaderError(this.leaderId, this.leaderId === null ? null : this.memberUrl(this.leaderId));
    }
  }

  private takeFailure(): void {
    const failure = this.failNext;
    if (failure === null) return;
    this.failNext = null;
    throw failure;
  }
}
