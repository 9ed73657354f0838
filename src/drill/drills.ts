/** The drills `kvctl drill NAME` knows, and the bounds of its options. */
import type { Drill } from './drill.js';
import { crashLeader } from './drills/crash-leader.js';
import { crashFollower } from './drills/crash-follower.js';
import { laggingFollower } from './drills/lagging-follower.js';
import { partitionLeader } from './drills/partition-leader.js';
import { pauseLeader } from './drills/pause-leader.js';
import { restartAll } from './drills/restart-all.js';

export const DRILLS: ReadonlyMap<string, Drill> = new Map(
  [crashLeader, crashFollower, restartAll, partitionLeader, laggingFollower, pauseLeader].map((d) => [d.name, d]),
);

export const DRILL_NODE_COUNTS: readonly number[] = [3, 5];
/** Seconds of load before the fault, and again after recovery. */
export const DRILL_SECONDS_DEFAULT = 5;
/** Bounded so every client's keys can be read back in one listing each (see verify.ts). */
export const DRILL_SECONDS_MAX = 120;
