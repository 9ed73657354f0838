/** The pure Raft core: everything a host or the simulator needs. */
export * from './messages.js';
export * from './ready.js';
export { Raft, RAFT_DEFAULTS } from './raft.js';
export type {
  ProgressStatus,
  ProposeResult,
  RaftLimits,
  RaftOptions,
  RaftStatus,
  ReadIndexResult,
  TransferResult,
} from './raft.js';
export type { ProgressState } from './progress.js';
export { Prng } from './prng.js';
export { describeEntries, describeEntry, describeMessage, describeReady } from './describe.js';
export { RaftInvariantError } from './invariant.js';
export { ENTRY_OVERHEAD_BYTES, entryBytes } from './raft-log.js';
