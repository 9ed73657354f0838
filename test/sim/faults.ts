import type { NodeId } from '../../src/consensus/core/messages.js';
import type { Prng } from '../../src/consensus/core/prng.js';
import type { DiskFaultKind } from './disk/simulated-disk.js';
import { HEALTHY_NETWORK, type NetworkFaults, type SimNetwork } from './network.js';

/**
 * Decides, tick by tick during the fault phase, which faults hit the cluster: crashes (some in
 * the middle of a Ready, between persist and send), restarts, stalls, partitions that change
 * shape over time (symmetric, one-way, bridged, random links), and the network's loss,
 * duplication and delay. Every choice comes from its own seeded generator.
 */

export interface FaultOptions {
  /** Probability per tick that one running node crashes. */
  readonly crashPerTick: number;
  /** Share of crashes that strike inside a Ready, after persisting but before sending or applying. */
  readonly crashMidReadyShare: number;
  readonly downTicksMin: number;
  readonly downTicksMax: number;
  /** Probability per tick that one running node stalls (GC pause, VM freeze). */
  readonly pausePerTick: number;
  readonly pauseTicksMin: number;
  readonly pauseTicksMax: number;
  /** The partition layout is redrawn every this many ticks (a random value in the range). */
  readonly partitionTicksMin: number;
  readonly partitionTicksMax: number;
  /** Share of layouts that are a partition rather than a fully connected network. */
  readonly partitionShare: number;
  /** The network's loss/duplication/delay is redrawn from these levels as often as partitions. */
  readonly networkLevels: readonly NetworkFaults[];
  /** Each node's clock runs at a rate in [tickRateMin, 1] ticks per simulated tick (clock skew). */
  readonly tickRateMin: number;
  /** Share of crashes and stalls aimed at the current leader (its uncommitted tail makes logs diverge). */
  readonly leaderTargetShare: number;
  /** Probability per tick that an operator asks the leader to hand over leadership (thesis 3.10). */
  readonly transferPerTick: number;
  /**
   * Probability that a newly elected leader crashes within a few ticks: it leaves a tail of
   * entries on a minority, the raw material of the Raft paper's figure 8.
   */
  readonly newLeaderCrashRate: number;
}

export const DEFAULT_FAULTS: FaultOptions = {
  crashPerTick: 0.004,
  crashMidReadyShare: 0.3,
  downTicksMin: 10,
  downTicksMax: 300,
  pausePerTick: 0.003,
  pauseTicksMin: 10,
  pauseTicksMax: 150,
  partitionTicksMin: 80,
  partitionTicksMax: 400,
  partitionShare: 0.5,
  networkLevels: [
    HEALTHY_NETWORK,
    { dropRate: 0.05, duplicateRate: 0.02, delayTicksMin: 1, delayTicksMax: 4 },
    { dropRate: 0.2, duplicateRate: 0.05, delayTicksMin: 1, delayTicksMax: 10 },
    { dropRate: 0.02, duplicateRate: 0.1, delayTicksMin: 1, delayTicksMax: 25 },
  ],
  tickRateMin: 0.7,
  leaderTargetShare: 0.3,
  transferPerTick: 0.001,
  newLeaderCrashRate: 0.1,
};

/**
 * Swarm testing (Groce et al., 2012): each seed draws its own fault profile, so some runs are
 * crash storms, some flapping partitions, some slow lossy networks, and rare combinations show
 * up far more often than under one fixed mix.
 */
export function swarmFaults(random: Prng): FaultOptions {
  const levels = DEFAULT_FAULTS.networkLevels.filter((_, i) => i === 0 || random.chance(0.6));
  const period = random.pick([
    [20, 120],
    [80, 400],
    [300, 900],
  ] as const);
  return {
    crashPerTick: random.pick([0, 0.002, 0.006, 0.02]),
    crashMidReadyShare: random.pick([0.1, 0.5]),
    downTicksMin: 5,
    downTicksMax: random.pick([60, 300]),
    pausePerTick: random.pick([0, 0.003, 0.01]),
    pauseTicksMin: 10,
    pauseTicksMax: random.pick([60, 200]),
    partitionTicksMin: period[0],
    partitionTicksMax: period[1],
    partitionShare: random.pick([0.3, 0.6, 0.9]),
    networkLevels: levels,
    tickRateMin: random.pick([0.5, 0.8, 1]),
    leaderTargetShare: random.pick([0, 0.3, 0.8]),
    transferPerTick: random.pick([0, 0.002, 0.01]),
    newLeaderCrashRate: random.pick([0, 0.2, 0.6]),
  };
}

/**
 * Disk faults, for nodes on simulated disks (`--disk-faults`): power loss of one node, of a
 * minority or of every node at once (some striking in the middle of a write), injected read,
 * write and fsync errors, and a latent bit flip in a cold WAL segment. Drawn from their own
 * generator, so the other faults of a seed stay as they are.
 */
export interface DiskFaultOptions {
  /** Probability per tick of a power loss. */
  readonly powerLossPerTick: number;
  /** Share of power losses that hit a minority, and that hit every node at once; the rest hit one node. */
  readonly powerLossMinorityShare: number;
  readonly powerLossAllShare: number;
  /** Share of power losses that strike a few disk operations later, inside a save or a snapshot. */
  readonly powerLossMidWriteShare: number;
  /** Probability per tick that one node's next read, write or fsync fails. */
  readonly diskErrorPerTick: number;
  /** Probability per run of one latent bit flip in a cold segment (the node must refuse to start). */
  readonly bitFlipRate: number;
}

export function swarmDiskFaults(random: Prng): DiskFaultOptions {
  return {
    powerLossPerTick: random.pick([0.001, 0.003, 0.01]),
    powerLossMinorityShare: random.pick([0.2, 0.4]),
    powerLossAllShare: random.pick([0.1, 0.3]),
    powerLossMidWriteShare: random.pick([0.3, 0.7]),
    diskErrorPerTick: random.pick([0, 0.002, 0.006]),
    bitFlipRate: random.pick([0, 0.3]),
  };
}

/** What the scheduler does to simulated disks. */
export interface DiskFaultTarget {
  isRetired(id: NodeId): boolean;
  /** Power fails now, or after `afterDiskOps` more disk operations of each running node. */
  powerLoss(ids: readonly NodeId[], afterDiskOps?: number): void;
  diskError(id: NodeId, kind: DiskFaultKind): void;
  /** A bit flip in a cold segment, then a power loss; false if the node has no cold segment. */
  flipBit(id: NodeId, random: Prng): boolean;
  /** Disarms pending disk faults; returns the nodes it had to power-cycle (to be restarted). */
  healDisks(): NodeId[];
}

/** The actions the scheduler takes on the cluster. */
export interface FaultTarget {
  readonly nodeIds: readonly NodeId[];
  isRunning(id: NodeId): boolean;
  isPaused(id: NodeId): boolean;
  crash(id: NodeId, midReady: boolean): void;
  restart(id: NodeId): Promise<void>;
  pause(id: NodeId): void;
  resume(id: NodeId): void;
  /** The node that currently believes it leads, if any (partitions like to isolate it). */
  leader(): NodeId | null;
  /** Asks the leader to hand leadership to `to` (or to its most up-to-date follower). */
  transferLeadership(to: NodeId | undefined): void;
  note(line: string): void;
}

export class FaultScheduler {
  private readonly restartAt = new Map<NodeId, number>();
  private readonly resumeAt = new Map<NodeId, number>();
  private readonly crashAt = new Map<NodeId, number>();
  private healed = false;
  private nextLayoutAt = 0;
  readonly tickRates: ReadonlyMap<NodeId, number>;
  readonly stats = { crashes: 0, restarts: 0, pauses: 0, layouts: 0, transfers: 0, powerLosses: 0, diskErrors: 0, bitFlips: 0 };
  /** The tick of this run's bit flip, if it has one. */
  private bitFlipAt: number | null = null;

  constructor(
    private readonly options: FaultOptions,
    private readonly random: Prng,
    private readonly target: FaultTarget,
    private readonly network: SimNetwork,
    private readonly disk: { readonly options: DiskFaultOptions; readonly random: Prng; readonly target: DiskFaultTarget } | null = null,
  ) {
    this.tickRates = new Map(
      target.nodeIds.map((id) => [id, options.tickRateMin + (1 - options.tickRateMin) * random.nextFloat()]),
    );
    if (disk !== null && disk.random.chance(disk.options.bitFlipRate)) this.bitFlipAt = disk.random.nextInt(100, 1200);
  }

  /** One tick of the fault phase. */
  async step(now: number): Promise<void> {
    for (const [id, at] of [...this.restartAt]) {
      if (at > now) continue;
      this.restartAt.delete(id);
      await this.target.restart(id);
      this.stats.restarts++;
    }
    for (const [id, at] of [...this.resumeAt]) {
      if (at > now) continue;
      this.resumeAt.delete(id);
      this.target.resume(id);
    }
    for (const [id, at] of [...this.crashAt]) {
      if (at > now) continue;
      this.crashAt.delete(id);
      if (this.target.isRunning(id) && !this.restartAt.has(id)) this.crash(id, now);
    }
    const running = this.target.nodeIds.filter((id) => this.target.isRunning(id) && !this.target.isPaused(id));
    if (running.length > 0 && this.random.chance(this.options.crashPerTick)) {
      this.crash(this.pickVictim(running), now);
    } else if (running.length > 0 && this.random.chance(this.options.pausePerTick)) {
      const id = this.pickVictim(running);
      this.target.pause(id);
      this.resumeAt.set(id, now + this.random.nextInt(this.options.pauseTicksMin, this.options.pauseTicksMax + 1));
      this.stats.pauses++;
    }
    if (this.random.chance(this.options.transferPerTick)) {
      const to = this.random.chance(0.5) ? this.random.pick(this.target.nodeIds) : undefined;
      this.target.transferLeadership(to);
      this.stats.transfers++;
    }
    if (now >= this.nextLayoutAt) {
      this.redrawLayout();
      this.nextLayoutAt = now + this.random.nextInt(this.options.partitionTicksMin, this.options.partitionTicksMax + 1);
    }
    if (this.disk !== null) this.stepDisks(now, this.disk);
  }

  /** A node crashed on its own (its disk failed): it comes back after a while, like a crashed one. */
  nodeFailed(id: NodeId, now: number): void {
    if (this.healed || this.restartAt.has(id)) return;
    this.restartAt.set(id, now + this.random.nextInt(this.options.downTicksMin, this.options.downTicksMax + 1));
  }

  private stepDisks(now: number, disk: NonNullable<FaultScheduler['disk']>): void {
    const { options, random, target } = disk;
    const inService = this.target.nodeIds.filter((id) => !target.isRetired(id));
    const running = inService.filter((id) => this.target.isRunning(id));
    if (random.chance(options.powerLossPerTick)) {
      const scope = random.nextFloat();
      let victims: NodeId[];
      if (scope < options.powerLossAllShare) victims = inService;
      else if (scope < options.powerLossAllShare + options.powerLossMinorityShare) {
        victims = random.shuffle([...inService]).slice(0, random.nextInt(1, Math.floor(this.target.nodeIds.length / 2) + 1));
      } else victims = running.length > 0 ? [random.pick(running)] : [];
      const afterDiskOps = random.chance(options.powerLossMidWriteShare) ? random.nextInt(0, 16) : undefined;
      target.powerLoss(victims, afterDiskOps);
      this.stats.powerLosses++;
      if (afterDiskOps === undefined) for (const id of victims) this.nodeFailed(id, now);
    }
    if (running.length > 0 && random.chance(options.diskErrorPerTick)) {
      target.diskError(random.pick(running), random.pick(['read', 'write', 'fsync'] as const));
      this.stats.diskErrors++;
    }
    if (this.bitFlipAt !== null && now >= this.bitFlipAt) {
      const id = random.pick(inService);
      if (target.flipBit(id, random)) {
        this.bitFlipAt = null;
        this.stats.bitFlips++;
        this.nodeFailed(id, now);
      } else {
        this.bitFlipAt = now + 50;
      }
    }
  }

  /** The ticks node `id` takes during this simulated tick (0 or 1), from its clock rate. */
  ticksFor(id: NodeId): number {
    return this.random.chance(this.tickRates.get(id) ?? 1) ? 1 : 0;
  }

  /** The cluster reports each election; some new leaders are doomed to crash soon. */
  leaderElected(id: NodeId, now: number): void {
    if (this.healed || !this.random.chance(this.options.newLeaderCrashRate)) return;
    this.crashAt.set(id, now + this.random.nextInt(0, 12));
  }

  /** End of the fault phase: everything heals and every node runs again. */
  async healAll(): Promise<void> {
    this.healed = true;
    this.crashAt.clear();
    const powerCycled = this.disk?.target.healDisks() ?? [];
    this.network.heal();
    this.network.setFaults(HEALTHY_NETWORK);
    for (const id of new Set([...this.restartAt.keys(), ...powerCycled])) await this.target.restart(id);
    for (const id of this.resumeAt.keys()) this.target.resume(id);
    this.restartAt.clear();
    this.resumeAt.clear();
    this.target.note('faults healed');
  }

  private crash(id: NodeId, now: number): void {
    const midReady = this.random.chance(this.options.crashMidReadyShare);
    this.target.crash(id, midReady);
    this.restartAt.set(id, now + this.random.nextInt(this.options.downTicksMin, this.options.downTicksMax + 1));
    this.stats.crashes++;
  }

  private pickVictim(running: readonly NodeId[]): NodeId {
    const leader = this.target.leader();
    if (leader !== null && running.includes(leader) && this.random.chance(this.options.leaderTargetShare)) return leader;
    return this.random.pick(running);
  }

  private redrawLayout(): void {
    this.stats.layouts++;
    const level = this.random.pick(this.options.networkLevels);
    this.network.setFaults(level);
    this.network.heal();
    if (!this.random.chance(this.options.partitionShare)) {
      this.target.note(`network ${JSON.stringify(level)}, fully connected`);
      return;
    }
    const ids = this.random.shuffle([...this.target.nodeIds]);
    const kind = this.random.pick(['split', 'isolate-leader', 'one-way', 'bridge', 'random-links'] as const);
    switch (kind) {
      case 'split': {
        const minority = this.random.nextInt(1, Math.floor(ids.length / 2) + 1);
        this.network.partition([ids.slice(0, minority), ids.slice(minority)]);
        break;
      }
      case 'isolate-leader': {
        const leader = this.target.leader() ?? ids[0];
        this.network.partition([[leader], ids.filter((id) => id !== leader)]);
        break;
      }
      case 'one-way': {
        // A node that can send but not hear (or the reverse): the classic disruptive candidate / deaf leader.
        const victim = this.target.leader() ?? ids[0];
        const inbound = this.random.chance(0.5);
        for (const other of ids) {
          if (other === victim) continue;
          if (inbound) this.network.blockLink(other, victim);
          else this.network.blockLink(victim, other);
        }
        break;
      }
      case 'bridge': {
        // Two halves that only one node can hear both of: leaders flap unless PreVote/CheckQuorum hold.
        // ids[0] is in neither group, so it keeps every link: the bridge.
        const rest = ids.slice(1);
        const half = Math.floor(rest.length / 2);
        this.network.partition([rest.slice(0, half), rest.slice(half)]);
        break;
      }
      case 'random-links':
        for (const from of ids) {
          for (const to of ids) if (from !== to && this.random.chance(0.3)) this.network.blockLink(from, to);
        }
        break;
    }
    this.target.note(`network ${JSON.stringify(level)}, partition ${kind}: ${this.network.blockedLinkCount()} links cut`);
  }
}
