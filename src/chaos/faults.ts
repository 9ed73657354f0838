/**
 * The chaos run's faults, injected into a ProcessCluster on a seeded schedule: one at a time
 * or overlapping a little, each lasting a seeded 1-5 s, with quiet gaps between them.
 *  - crash: SIGKILL a node, start it again after the fault's duration (the node itself waits
 *    for the data-dir lock it left behind to go stale before it boots);
 *  - pause: SIGSTOP, then SIGCONT;
 *  - partition: cut a node, or on 5 nodes a minority of two, off from the rest (both
 *    directions of every link across the cut), then heal those links;
 *  - restart: SIGTERM (a graceful stop must exit 0, SPEC 1), start it again after the duration.
 *
 * Invariant: the nodes impaired at once (crashed or not yet back, paused, stopped, cut off with
 * a minority) never exceed a minority, so the rest can elect a leader and commit. Faults target
 * the leader more often than not: those exercise elections, lost answers and retries.
 *
 * Kinds come from a shuffled deck, so each appears once in every round of them.
 * The seed fixes the schedule (kinds, durations, gaps, leader-or-not, shapes); which node is
 * the leader when a fault starts depends on real timing, so the nodes are recorded as they fall.
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { Prng } from '../consensus/core/prng.js';
import { until } from '../drill/poll.js';
import type { ProcessCluster } from '../drill/process-cluster.js';
import type { FaultKind } from './chaos-options.js';

const FAULT_MS_MIN = 1000;
const FAULT_MS_MAX = 5000;
/** The next fault starts this long after the previous one ends; negative: they overlap a little. */
const GAP_MS_MIN = -1000;
const GAP_MS_MAX = 3000;
/** A gap never drops below this, so two faults never start in the same instant. */
const GAP_MS_FLOOR = 250;
/** How often a fault the minority bound forbids right now is tried again. */
const RETRY_PLAN_MS = 200;
const LEADER_TARGET_CHANCE = 0.65;
/** On 5 nodes, how often a partition cuts off two nodes rather than one. */
const SPLIT_CHANCE = 0.5;
/** A restarted node must answer /admin/status within this (it may wait ~5 s for a stale lock). */
const BACK_DEADLINE_MS = 60_000;

export interface FaultRecord {
  readonly kind: FaultKind;
  /** The nodes hit (for a partition: the side cut off from the majority). */
  readonly nodes: readonly string[];
  /** Whether the leader of the moment was among them. */
  readonly leaderTargeted: boolean;
  /** ms since the run began. */
  readonly startMs: number;
  /** The seeded duration: how long the node stays crashed, paused, cut off or stopped. */
  readonly durationMs: number;
  /** When the fault was undone (healed, continued, started again); null while it lasts. */
  endMs: number | null;
  /** When every node hit answered again (for crash and restart: its boot took this long more). */
  backMs: number | null;
  /** From the fault's start to the first write, sent after it, that was acknowledged. */
  recoveryMs: number | null;
}

export interface FaultInjectorOptions {
  readonly kinds: readonly FaultKind[];
  readonly random: Prng;
  /** ms since the run began. */
  readonly elapsedMs: () => number;
  readonly onProblem: (text: string) => void;
}

interface ActiveFault {
  readonly record: FaultRecord;
  /** Resolves once the fault is undone and its nodes are back. */
  done: Promise<void>;
}

export class FaultInjector {
  readonly records: FaultRecord[] = [];
  private readonly impaired = new Set<string>();
  private readonly active = new Set<ActiveFault>();
  /** Cuts per directed link `from>to`: overlapping partitions may share a link. */
  private readonly cutsByLink = new Map<string, number>();
  /** Nodes the injector itself is stopping: their exit is expected. */
  private readonly expectedExit = new Set<string>();
  private readonly stopping = new AbortController();
  private watching = true;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly cluster: ProcessCluster,
    private readonly options: FaultInjectorOptions,
  ) {
    for (const node of cluster.nodes) this.watchExit(node.id);
  }

  /** The faults in force right now, e.g. `pause n2, partition n1`. */
  describeActive(): string {
    return [...this.active].map((f) => `${f.record.kind} ${f.record.nodes.join('+')}`).join(', ');
  }

  /** Starts injecting faults until `untilMs` (ms since the run began) or stop(). */
  start(untilMs: number): void {
    this.loop = this.run(untilMs);
  }

  /** Starts no new fault, undoes every fault in force now, and waits until every node is back. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    await Promise.all([...this.active].map((f) => f.done));
  }

  /** From here on node exits are expected (the cluster is being destroyed). */
  stopWatching(): void {
    this.watching = false;
  }

  private async run(untilMs: number): Promise<void> {
    const { kinds, random, elapsedMs } = this.options;
    if (kinds.length === 0) return;
    // Kinds are dealt from a shuffled deck: every kind comes once in each round of them.
    const deck: FaultKind[] = [];
    let nextStartMs = elapsedMs() + random.nextInt(GAP_MS_FLOOR, GAP_MS_MAX);
    while (!this.stopping.signal.aborted) {
      if (deck.length === 0) deck.push(...random.shuffle([...kinds]));
      const kind = deck.pop()!;
      const durationMs = random.nextInt(FAULT_MS_MIN, FAULT_MS_MAX + 1);
      const wantsLeader = random.chance(LEADER_TARGET_CHANCE);
      const split = random.chance(SPLIT_CHANCE);
      const gapMs = random.nextInt(GAP_MS_MIN, GAP_MS_MAX + 1);
      // A fault must end before the run does: the final heal is not a fault's end.
      if (nextStartMs + durationMs > untilMs) return;
      if (!(await this.pause(nextStartMs - elapsedMs()))) return;
      let plan: { nodes: string[]; leaderTargeted: boolean } | null;
      while ((plan = await this.plan(kind, wantsLeader, split, random)) === null) {
        if (elapsedMs() + durationMs > untilMs || !(await this.pause(RETRY_PLAN_MS))) return;
      }
      const started = this.inject(kind, plan.nodes, plan.leaderTargeted, durationMs);
      nextStartMs = Math.max(elapsedMs() + GAP_MS_FLOOR, elapsedMs() + durationMs + gapMs);
      await started;
    }
  }

  /** Waits `ms` unless stop() comes first; false when stopped. */
  private async pause(ms: number): Promise<boolean> {
    if (this.stopping.signal.aborted) return false;
    if (ms <= 0) return true;
    try {
      await delay(ms, undefined, { signal: this.stopping.signal });
      return true;
    } catch {
      return false;
    }
  }

  /** Which nodes a fault hits, or null when the minority bound forbids it right now. */
  private async plan(kind: FaultKind, wantsLeader: boolean, split: boolean, random: Prng): Promise<{ nodes: string[]; leaderTargeted: boolean } | null> {
    const minorityMax = Math.floor((this.cluster.nodes.length - 1) / 2);
    const room = minorityMax - this.impaired.size;
    if (room < 1) return null;
    const available = this.cluster.nodes.filter((n) => n.running && !n.paused && !this.impaired.has(n.id)).map((n) => n.id);
    if (available.length === 0) return null;
    const count = kind === 'partition' && split ? Math.min(2, room) : 1;
    const leader = wantsLeader ? await this.currentLeader() : null;
    const nodes: string[] = [];
    const leaderTargeted = leader !== null && available.includes(leader);
    if (leaderTargeted) nodes.push(leader);
    const others = available.filter((id) => id !== leader);
    while (nodes.length < count && others.length > 0) nodes.push(others.splice(random.nextInt(0, others.length), 1)[0]!);
    return nodes.length === 0 ? null : { nodes, leaderTargeted };
  }

  /** The leader of the highest term among the nodes that answer, or null. */
  private async currentLeader(): Promise<string | null> {
    const statuses = await this.cluster.statuses();
    const leaders = statuses.filter((s) => s.role === 'leader').sort((a, b) => b.term - a.term);
    return leaders[0]?.id ?? null;
  }

  /** Starts a fault; resolves once it is in force (its end runs on its own). */
  private async inject(kind: FaultKind, nodes: readonly string[], leaderTargeted: boolean, durationMs: number): Promise<void> {
    const record: FaultRecord = { kind, nodes, leaderTargeted, startMs: Math.round(this.options.elapsedMs()), durationMs, endMs: null, backMs: null, recoveryMs: null };
    this.records.push(record);
    for (const id of nodes) this.impaired.add(id);
    let undo: () => Promise<void>;
    try {
      undo = await this.begin(kind, nodes);
    } catch (error) {
      this.options.onProblem(`${kind} of ${nodes.join('+')} at ${record.startMs} ms failed: ${(error as Error).message}`);
      for (const id of nodes) this.impaired.delete(id);
      record.endMs = record.backMs = Math.round(this.options.elapsedMs());
      return;
    }
    const fault: ActiveFault = { record, done: Promise.resolve() };
    this.active.add(fault);
    fault.done = this.undoLater(fault, undo);
  }

  /** Waits out the fault's duration (stop() cuts it short), undoes it, waits for its nodes. */
  private async undoLater(fault: ActiveFault, undo: () => Promise<void>): Promise<void> {
    const { record } = fault;
    await this.pause(record.durationMs);
    try {
      await undo();
      record.endMs = Math.round(this.options.elapsedMs());
      await this.waitBack(record.nodes);
      record.backMs = Math.round(this.options.elapsedMs());
    } catch (error) {
      this.options.onProblem(`undoing ${record.kind} of ${record.nodes.join('+')} (started at ${record.startMs} ms) failed: ${(error as Error).message}`);
    } finally {
      for (const id of record.nodes) this.impaired.delete(id);
      this.active.delete(fault);
    }
  }

  /** Puts a fault in force; answers how to undo it. */
  private async begin(kind: FaultKind, nodes: readonly string[]): Promise<() => Promise<void>> {
    const cluster = this.cluster;
    switch (kind) {
      case 'crash': {
        const [id] = nodes as [string];
        this.expectedExit.add(id);
        await cluster.kill(id, 'SIGKILL');
        return async () => this.startAgain(id);
      }
      case 'restart': {
        const [id] = nodes as [string];
        this.expectedExit.add(id);
        const exit = await cluster.kill(id, 'SIGTERM');
        if (exit.code !== 0) this.options.onProblem(`${id} stopped by SIGTERM exited with code ${exit.code} signal ${exit.signal} (SPEC 1: exit 0)\n${tail(cluster, id)}`);
        return async () => this.startAgain(id);
      }
      case 'pause': {
        const [id] = nodes as [string];
        cluster.stop(id);
        return async () => cluster.cont(id);
      }
      case 'partition': {
        const cutOff = new Set(nodes);
        const links: [string, string][] = [];
        for (const a of nodes) for (const b of cluster.nodes.map((n) => n.id).filter((id) => !cutOff.has(id))) links.push([a, b], [b, a]);
        for (const [from, to] of links) this.cut(from, to);
        return async () => {
          for (const [from, to] of links) this.heal(from, to);
        };
      }
    }
  }

  private startAgain(id: string): void {
    this.expectedExit.delete(id);
    this.cluster.restart(id);
    this.watchExit(id);
  }

  private cut(from: string, to: string): void {
    const key = `${from}>${to}`;
    const count = this.cutsByLink.get(key) ?? 0;
    this.cutsByLink.set(key, count + 1);
    if (count === 0) this.cluster.link(from, to).cut();
  }

  private heal(from: string, to: string): void {
    const key = `${from}>${to}`;
    const count = (this.cutsByLink.get(key) ?? 0) - 1;
    if (count > 0) {
      this.cutsByLink.set(key, count);
      return;
    }
    this.cutsByLink.delete(key);
    this.cluster.link(from, to).heal();
  }

  private async waitBack(nodes: readonly string[]): Promise<void> {
    await until(`${nodes.join(', ')} to answer /admin/status again`, BACK_DEADLINE_MS, async () => ((await this.cluster.statuses(nodes)).length === nodes.length ? true : undefined), {
      intervalMs: 100,
      describe: () => this.cluster.describe(),
    });
  }

  /** A node that exits without the injector stopping it crashed on its own: a finding. */
  private watchExit(id: string): void {
    const node = this.cluster.node(id);
    const child = node.child;
    void node.exited.then((exit) => {
      if (!this.watching || this.expectedExit.has(id) || node.child !== null && node.child !== child) return;
      this.options.onProblem(`${id} exited on its own at ${Math.round(this.options.elapsedMs())} ms (code ${exit.code}, signal ${exit.signal})\n${tail(this.cluster, id)}`);
    });
  }
}

function tail(cluster: ProcessCluster, id: string): string {
  return cluster.node(id).output.slice(-15).map((line) => `    ${id}| ${line}`).join('\n');
}
