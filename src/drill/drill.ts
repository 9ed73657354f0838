/**
 * What one drill is, and what it gets to work with. A drill acts on a running cluster under
 * load (kills, pauses, cuts links), measures how long recovery took, and records checks; the
 * runner (run-drill.ts) owns the cluster, the load and the final verification.
 */
import type { DrillLoad } from './load.js';
import type { DrillCluster } from './drill-cluster.js';
import type { Check, Figure, Progress } from './report.js';

export interface DrillContext {
  readonly cluster: DrillCluster;
  /**
   * True when the drill acts on a cluster it did not start (`--existing`): its nodes run with
   * their own flags (no `nodeFlags`), and their data is the user's.
   */
  readonly existing: boolean;
  readonly load: DrillLoad;
  readonly progress: Progress;
  /** How long the load runs before the fault, and again after recovery, in ms. */
  readonly phaseMs: number;
  /** The bound on waiting for any one recovery step (an election, a restart, a catch-up). */
  readonly stepDeadlineMs: number;
  figure(name: string, value: number, unit: string): void;
  check(name: string, ok: boolean, detail: string): void;
  /** Lets the load run for `ms` (the drill's workload duration, not a synchronisation). */
  runLoad(ms: number): Promise<void>;
}

export interface Drill {
  readonly name: string;
  readonly summary: string;
  /** Extra flags every node starts with (e.g. a low snapshot threshold); not applied with --existing. */
  readonly nodeFlags?: readonly string[];
  run(ctx: DrillContext): Promise<void>;
}

export type { Check, Figure };
