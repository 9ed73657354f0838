import type { ReadState } from './core/ready.js';
import { CommitTimeoutError, UnavailableError } from './kv-node.port.js';

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/** Reads sharing one ReadIndex request to the core (one context). */
interface ReadGroup {
  readonly context: string;
  /** The leader term the read was registered in: the core drops it if that term's leadership ends. */
  readonly term: number;
  readonly deadlineMs: number;
  readonly waiters: Waiter[];
  /** Set when the core released the ReadState: serve once applied >= readIndex. */
  readIndex: number | null;
}

/**
 * Linearizable read barriers waiting on ReadIndex (Raft thesis 6.4). Concurrent reads share a
 * request: while a group's context has not yet left in a Ready, new reads join it, so a burst of
 * reads costs one heartbeat round. Bounded like pending writes (STYLE 7).
 *
 * Invariant: `groups` is in creation order, hence deadline order.
 */
export class PendingReads {
  private groups: ReadGroup[] = [];
  private readonly byContext = new Map<string, ReadGroup>();
  /** The group whose context the core has not handed out in a Ready yet: new reads join it. */
  private open: ReadGroup | null = null;
  private waiting = 0;
  private nextContext = 1;

  constructor(
    private readonly max: number,
    private readonly timeoutMs: number,
  ) {}

  get size(): number {
    return this.waiting;
  }

  assertRoom(): void {
    if (this.waiting >= this.max) {
      throw new UnavailableError('unavailable', `too many reads waiting (${this.max}); retry shortly`);
    }
  }

  /** Joins the open group of `term`, if any; else null (the caller asks the core for a new one). */
  joinOpen(term: number): Promise<void> | null {
    const open = this.open;
    if (open === null || open.term !== term) return null;
    return this.wait(open);
  }

  /** A fresh, unique context for the core's readIndex. */
  newContext(): string {
    return `r${this.nextContext++}`;
  }

  /** The core accepted a readIndex request under `context`. */
  openGroup(context: string, term: number, nowMs: number): Promise<void> {
    const group: ReadGroup = { context, term, deadlineMs: nowMs + this.timeoutMs, waiters: [], readIndex: null };
    this.groups.push(group);
    this.byContext.set(context, group);
    this.open = group;
    return this.wait(group);
  }

  /** A Ready was taken: the open group's context went out; later reads need a new one. */
  sealOpen(): void {
    this.open = null;
  }

  /** ReadStates from a Ready: each group learns its read index. */
  onReadStates(states: readonly ReadState[]): void {
    for (const state of states) {
      const group = this.byContext.get(state.context);
      if (group !== undefined) group.readIndex = state.index;
    }
  }

  /** Releases every group whose read index is applied. */
  serve(applied: number): void {
    if (this.groups.length === 0) return;
    const still: ReadGroup[] = [];
    for (const group of this.groups) {
      if (group.readIndex !== null && group.readIndex <= applied) this.finish(group, null);
      else still.push(group);
    }
    this.groups = still;
  }

  expire(nowMs: number): void {
    while (this.groups.length > 0 && (this.groups[0] as ReadGroup).deadlineMs <= nowMs) {
      const group = this.groups.shift() as ReadGroup;
      this.finish(group, new CommitTimeoutError(`read not confirmed within ${this.timeoutMs} ms (no quorum?)`));
    }
  }

  /** Fails the reads registered in another term than `keepTerm` (all when null): the core dropped them. */
  rejectOtherTerms(keepTerm: number | null, error: () => Error): void {
    if (this.groups.length === 0) return;
    const still: ReadGroup[] = [];
    for (const group of this.groups) {
      if (group.term === keepTerm) still.push(group);
      else this.finish(group, error());
    }
    this.groups = still;
  }

  rejectAll(error: Error): void {
    for (const group of this.groups) this.finish(group, error);
    this.groups = [];
  }

  private wait(group: ReadGroup): Promise<void> {
    this.waiting++;
    return new Promise<void>((resolve, reject) => group.waiters.push({ resolve, reject }));
  }

  private finish(group: ReadGroup, error: Error | null): void {
    this.byContext.delete(group.context);
    if (this.open === group) this.open = null;
    this.waiting -= group.waiters.length;
    for (const waiter of group.waiters) {
      if (error === null) waiter.resolve();
      else waiter.reject(error);
    }
  }
}
