/**
 * A small in-process network of Raft cores for transcript tests, in the style of etcd-raft's
 * interaction tests: the test says `campaign`, `deliver`, `stabilize`, `isolate`, `tick` and checks
 * roles, terms, logs, commit indexes and the describe() of the messages that moved.
 *
 * Each node has a memory "disk" that follows the Ready order (snapshot, entries, hard state
 * persisted before the Ready's messages leave) and a trivial state machine: the list of applied
 * entries. Messages travel only when the test delivers them; nothing is random but the seeded
 * election timeouts.
 */
import { Raft, type RaftOptions } from '../../src/consensus/core/raft.js';
import { Prng } from '../../src/consensus/core/prng.js';
import { describeMessage } from '../../src/consensus/core/describe.js';
import type { Entry, HardState, Message, NodeId, SnapshotMeta } from '../../src/consensus/core/messages.js';
import type { ReadState, Ready } from '../../src/consensus/core/ready.js';

export type NodeOptions = Partial<Omit<RaftOptions, 'id' | 'config' | 'random' | 'restore' | 'applied'>>;

/** What a node has on disk. */
export interface Disk {
  hardState: HardState;
  snapshot?: SnapshotMeta;
  /** The applied entries the snapshot stands for (the harness's state machine image). */
  snapshotData: Entry[];
  entries: Entry[];
}

export const TEST_NODE_DEFAULTS = {
  heartbeatTicks: 1,
  electionTicksMin: 10,
  electionTicksMax: 20,
  // Transcripts see the commit index reach followers without ticking (etcd-raft's way);
  // commit-broadcast.test.ts covers the deferred default.
  deferCommitOnlyAppends: false,
} as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function text(data: Uint8Array): string {
  return decoder.decode(data);
}

export class Network {
  readonly ids: NodeId[];
  readonly nodes = new Map<NodeId, Raft>();
  readonly disks = new Map<NodeId, Disk>();
  /** The state machine: every entry applied, in order. */
  readonly applied = new Map<NodeId, Entry[]>();
  readonly readStates = new Map<NodeId, ReadState[]>();
  /** Every Ready each node produced, for assertions on ordering. */
  readonly readies = new Map<NodeId, Ready[]>();
  /** Messages sent and not yet delivered or dropped, in send order. */
  queue: Message[] = [];
  /** Directed links that drop everything: "n1->n2". */
  private readonly cutLinks = new Set<string>();
  private readonly down = new Set<NodeId>();
  private readonly rootRandom: Prng;
  private readonly options: NodeOptions;

  /**
   * Whether a lost InstallSnapshot is reported to its sender (reportSnapshot(to, false)), as a
   * real transport that sees the stream fail would. Off, the leader relies on its snapshot timeout.
   */
  reportLostSnapshots: boolean;

  constructor(
    ids: NodeId[],
    opts: { seed?: number; node?: NodeOptions; disks?: Map<NodeId, Disk>; reportLostSnapshots?: boolean } = {},
  ) {
    this.ids = ids;
    this.reportLostSnapshots = opts.reportLostSnapshots ?? true;
    this.rootRandom = new Prng(opts.seed ?? 1);
    this.options = opts.node ?? {};
    for (const id of ids) {
      const disk = opts.disks?.get(id);
      this.disks.set(id, disk ?? { hardState: { term: 0, vote: null, commit: 0 }, snapshotData: [], entries: [] });
      this.applied.set(id, disk ? [...disk.snapshotData] : []);
      this.readStates.set(id, []);
      this.readies.set(id, []);
      this.nodes.set(id, this.boot(id, disk !== undefined));
    }
  }

  private boot(id: NodeId, fromDisk: boolean): Raft {
    const disk = this.disks.get(id) as Disk;
    return new Raft({
      ...TEST_NODE_DEFAULTS,
      ...this.options,
      id,
      config: { voters: this.ids },
      random: this.rootRandom.fork(),
      ...(fromDisk
        ? {
            restore: { hardState: disk.hardState, entries: disk.entries, ...(disk.snapshot ? { snapshot: disk.snapshot } : {}) },
            applied: disk.snapshot?.index ?? 0,
          }
        : {}),
    });
  }

  raft(id: NodeId): Raft {
    const r = this.nodes.get(id);
    if (r === undefined) throw new Error(`no node ${id}`);
    return r;
  }

  /** Node `id` crashes (loses everything volatile) and restarts from its disk. */
  restart(id: NodeId): Raft {
    this.applied.set(id, [...(this.disks.get(id) as Disk).snapshotData]);
    this.queue = this.queue.filter((m) => m.to !== id && m.from !== id);
    const r = this.boot(id, true);
    this.nodes.set(id, r);
    return r;
  }

  // ---------------- the host loop ----------------

  /** Runs node `id`'s Ready loop until it has nothing more to hand out. */
  processReady(id: NodeId): void {
    const r = this.raft(id);
    while (r.hasReady()) {
      const rd = r.ready();
      (this.readies.get(id) as Ready[]).push(rd);
      this.persist(id, rd);
      for (const m of rd.messages) this.queue.push(m);
      const applied = this.applied.get(id) as Entry[];
      if (rd.snapshot !== undefined) applied.splice(0, applied.length, ...(this.disks.get(id) as Disk).snapshotData);
      for (const e of rd.committedEntries) {
        const expected = (applied[applied.length - 1]?.index ?? 0) + 1;
        if (e.index !== expected) throw new Error(`${id} applies ${e.index}, expected ${expected}`);
        applied.push(e);
      }
      (this.readStates.get(id) as ReadState[]).push(...rd.readStates);
      r.advance(rd);
    }
  }

  private persist(id: NodeId, rd: Ready): void {
    const disk = this.disks.get(id) as Disk;
    if (rd.snapshot !== undefined) {
      disk.snapshot = rd.snapshot;
      const data = this.incomingSnapshot.get(id)?.get(rd.snapshot.index);
      if (data === undefined) throw new Error(`${id} persists snapshot ${rd.snapshot.index} it never received`);
      disk.snapshotData = data;
      disk.entries = [];
    }
    const first = rd.entries[0];
    if (first !== undefined) {
      disk.entries = disk.entries.filter((e) => e.index < first.index).concat(rd.entries);
    }
    if (rd.hardState !== undefined) disk.hardState = rd.hardState;
  }

  /**
   * The snapshot data streamed to a node (the host's job in production), by receiver and snapshot
   * index: a delayed or duplicated InstallSnapshot may name an older snapshot than the sender's latest.
   */
  private readonly incomingSnapshot = new Map<NodeId, Map<number, Entry[]>>();

  /** The host of `id` takes a snapshot of its state machine at `index` and compacts. */
  compact(id: NodeId, index: number): SnapshotMeta {
    const r = this.raft(id);
    const term = r.log.term(index);
    if (term === undefined) throw new Error(`${id} has no term for ${index}`);
    const meta: SnapshotMeta = { index, term, config: { voters: this.ids } };
    const disk = this.disks.get(id) as Disk;
    disk.snapshot = meta;
    disk.snapshotData = (this.applied.get(id) as Entry[]).filter((e) => e.index <= index);
    disk.entries = disk.entries.filter((e) => e.index > index);
    r.compact(meta);
    return meta;
  }

  flush(): void {
    for (const id of this.ids) this.processReady(id);
  }

  // ---------------- the network ----------------

  /**
   * Delivers the queued messages that match `filter` (all by default), in send order, to nodes
   * that are up and over links that are not cut (others are dropped); messages not matching
   * stay queued. Then runs every Ready loop. Returns the describe() of each message delivered.
   */
  deliver(filter: (m: Message) => boolean = () => true): string[] {
    const taken = this.queue.filter(filter);
    this.queue = this.queue.filter((m) => !filter(m));
    const delivered: string[] = [];
    for (const m of taken) {
      if (this.down.has(m.to) || this.down.has(m.from) || this.cutLinks.has(`${m.from}->${m.to}`)) {
        this.lost(m);
        continue;
      }
      if (m.type === 'InstallSnapshot') {
        // The sender applied at least up to the snapshot, so its applied history holds the image.
        const image = (this.applied.get(m.from) as Entry[]).filter((e) => e.index <= m.snapshot.index);
        if (image[image.length - 1]?.index !== m.snapshot.index) throw new Error(`${m.from} cannot build snapshot ${m.snapshot.index}`);
        const byIndex = this.incomingSnapshot.get(m.to) ?? new Map<number, Entry[]>();
        byIndex.set(m.snapshot.index, image);
        this.incomingSnapshot.set(m.to, byIndex);
      }
      delivered.push(describeMessage(m));
      this.raft(m.to).step(m);
    }
    this.flush();
    return delivered;
  }

  /** Drops queued messages matching `filter`. */
  drop(filter: (m: Message) => boolean): number {
    const before = this.queue.length;
    const kept: Message[] = [];
    for (const m of this.queue) {
      if (filter(m)) this.lost(m);
      else kept.push(m);
    }
    this.queue = kept;
    return before - this.queue.length;
  }

  private lost(m: Message): void {
    if (m.type === 'InstallSnapshot' && this.reportLostSnapshots) {
      this.raft(m.from).reportSnapshot(m.to, false);
      this.processReady(m.from);
    }
  }

  /** The queued messages, described. */
  pending(filter: (m: Message) => boolean = () => true): string[] {
    return this.queue.filter(filter).map(describeMessage);
  }

  /** Delivers round after round until no message is left; returns the number of rounds. */
  stabilize(maxRounds = 200): number {
    this.flush();
    let rounds = 0;
    while (this.queue.length > 0) {
      if (++rounds > maxRounds) throw new Error(`not stable after ${maxRounds} rounds`);
      this.deliver();
    }
    return rounds;
  }

  /**
   * Ticks the given nodes (delivering after each tick) until one of them leads; returns it.
   * Nodes outside `among` are not ticked (e.g. a cut-off old leader keeps believing it leads).
   */
  electAmong(among: NodeId[], maxTicks = 500): NodeId {
    for (let t = 0; t < maxTicks; t++) {
      const leader = among.find((id) => this.raft(id).role === 'leader');
      if (leader !== undefined) return leader;
      for (const id of among) this.raft(id).tick();
      this.stabilize();
    }
    throw new Error(`no leader among ${among.join(', ')} after ${maxTicks} ticks`);
  }

  campaign(id: NodeId): void {
    this.raft(id).campaign();
    this.processReady(id);
  }

  tick(id: NodeId, times = 1): void {
    for (let k = 0; k < times; k++) this.raft(id).tick();
    this.processReady(id);
  }

  tickAll(times = 1): void {
    for (let k = 0; k < times; k++) {
      for (const id of this.ids) this.raft(id).tick();
      this.flush();
    }
  }

  propose(id: NodeId, command: string): ReturnType<Raft['propose']> {
    const result = this.raft(id).propose(encoder.encode(command));
    this.processReady(id);
    return result;
  }

  /** Cuts both directions between `id` and every other node. */
  isolate(id: NodeId): void {
    for (const other of this.ids) {
      if (other === id) continue;
      this.cutLinks.add(`${id}->${other}`);
      this.cutLinks.add(`${other}->${id}`);
    }
  }

  cut(a: NodeId, b: NodeId): void {
    this.cutLinks.add(`${a}->${b}`);
    this.cutLinks.add(`${b}->${a}`);
  }

  heal(): void {
    this.cutLinks.clear();
  }

  // ---------------- views ----------------

  leaders(): NodeId[] {
    return this.ids.filter((id) => this.raft(id).role === 'leader');
  }

  /** The node's log as "index/term" strings (from its first index). */
  logOf(id: NodeId): string[] {
    const r = this.raft(id);
    const out: string[] = [];
    for (let i = r.log.firstIndex(); i <= r.log.lastIndex(); i++) out.push(`${i}/${r.log.term(i)}`);
    return out;
  }

  /** The terms of the node's log entries, from index 1 (requires an uncompacted log). */
  termsOf(id: NodeId): number[] {
    const r = this.raft(id);
    const out: number[] = [];
    for (let i = 1; i <= r.log.lastIndex(); i++) out.push(r.log.term(i) as number);
    return out;
  }

  appliedCommands(id: NodeId): string[] {
    return (this.applied.get(id) as Entry[]).filter((e) => e.type === 'command').map((e) => text(e.data));
  }
}

/** A disk holding a log with the given terms at indexes 1.., for building figure 7/8 logs. */
export function diskWithTerms(terms: number[], hardState: Partial<HardState> = {}): Disk {
  const entries: Entry[] = terms.map((term, k) => ({
    index: k + 1,
    term,
    type: 'command',
    data: encoder.encode(`e${k + 1}t${term}`),
  }));
  const lastTerm = terms[terms.length - 1] ?? 0;
  return {
    hardState: { term: hardState.term ?? lastTerm, vote: hardState.vote ?? null, commit: hardState.commit ?? 0 },
    snapshotData: [],
    entries,
  };
}

export const isType =
  (...types: Message['type'][]) =>
  (m: Message): boolean =>
    types.includes(m.type);

export const between =
  (from: NodeId, to: NodeId) =>
  (m: Message): boolean =>
    m.from === from && m.to === to;
