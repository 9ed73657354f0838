import { randomInt } from 'node:crypto';
import type { RaftConfig } from '../config/raft-config.js';
import { KvStateMachine } from '../kv/kv-state-machine.js';
import type { RaftStorage } from '../storage/raft-storage.js';
import type { Entry, SnapshotMeta } from './core/messages.js';
import { Prng } from './core/prng.js';
import { Raft, RAFT_DEFAULTS, type RaftOptions } from './core/raft.js';

/** Room in a log entry beside the value(s): key, clientId, framing. */
const ENTRY_OVERHEAD_BYTES = 64 * 1024;

/** The cluster's voters: this node and its peers, in one order every node agrees on. */
export function clusterVoters(config: Pick<RaftConfig, 'id' | 'peers'>): string[] {
  return [config.id, ...config.peers.map((p) => p.id)].sort();
}

/** The core's tuning from the validated config (timeouts in ticks). */
export function raftTuning(config: RaftConfig): Omit<RaftOptions, 'id' | 'config' | 'random' | 'restore' | 'applied'> {
  return {
    heartbeatTicks: config.heartbeatTicks,
    electionTicksMin: config.electionTimeoutMinTicks,
    // The config's range is inclusive [min, max]; the core draws from [min, max).
    electionTicksMax: config.electionTimeoutMaxTicks + 1,
    preVote: true,
    checkQuorum: true,
    maxInflightAppends: config.inflightAppendsMax,
    maxBytesPerAppend: config.appendBatchBytesMax,
    // A cas carries two values; an entry must fit the largest command the API accepts.
    maxEntryBytes: Math.max(RAFT_DEFAULTS.maxEntryBytes, 2 * config.valueBytesMax + config.keyBytesMax + ENTRY_OVERHEAD_BYTES),
  };
}

export interface BootedNode {
  readonly raft: Raft;
  readonly stateMachine: KvStateMachine;
  readonly snapshot: SnapshotMeta | null;
  /** Entries read back from the WAL. */
  readonly entriesLoaded: number;
}

/**
 * Rebuilds a node from its open storage: the state machine from the newest snapshot, the core
 * from the hard state, that snapshot and the log after it (`restore`, `applied`). The core then
 * hands the committed entries after the snapshot out again, and the host re-applies them.
 */
export async function bootFromStorage(config: RaftConfig, storage: RaftStorage): Promise<BootedNode> {
  const stateMachine = new KvStateMachine({ sessionLimits: { sessionTtlMs: config.sessionTtlMs, sessionsMax: config.sessionsMax } });
  const snapshot = storage.snapshot;
  if (snapshot !== null) {
    const restore = stateMachine.beginRestore();
    for await (const chunk of storage.snapshots.openRead(snapshot)) restore.write(chunk);
    restore.finish();
    if (stateMachine.appliedIndex !== snapshot.index) {
      throw new Error(`snapshot ${snapshot.term}-${snapshot.index} holds the state at index ${stateMachine.appliedIndex}`);
    }
  }
  const entries: Entry[] = [];
  const from = Math.max(storage.firstIndex, (snapshot?.index ?? 0) + 1);
  for await (const batch of storage.entries(from)) for (const entry of batch) entries.push(entry);
  const raft = new Raft({
    ...raftTuning(config),
    id: config.id,
    config: { voters: clusterVoters(config) },
    // Election timeouts must differ between nodes; the seed only needs to be unpredictable.
    random: new Prng(randomInt(2 ** 47)),
    restore: { hardState: storage.hardState, snapshot: snapshot ?? undefined, entries },
    applied: snapshot?.index ?? 0,
  });
  return { raft, stateMachine, snapshot, entriesLoaded: entries.length };
}
