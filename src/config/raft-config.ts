/**
 * The node's validated configuration (SPEC section 1). Built once at boot from flags and
 * environment by `parseRaftConfig` (parse-args.ts); every limit the node runs under is here,
 * checked before anything starts (STYLE habit 7).
 *
 * An abstract class rather than an interface so Nest can inject it by type:
 * `constructor(private readonly config: RaftConfig)`. The value provided is a frozen plain object.
 */

export interface PeerConfig {
  readonly id: string;
  /** Where this member serves peer RPC, without a trailing slash (e.g. `http://127.0.0.1:7002`). */
  readonly url: string;
}

export abstract class RaftConfig {
  /** This node's id: 1-64 of letters, digits, '-', '_', '.'. */
  abstract readonly id: string;
  /** Address the HTTP listener(s) bind to. */
  abstract readonly host: string;
  /** Client API port (and peer RPC under /raft/* unless `peerPort` is set). */
  abstract readonly port: number;
  /** A separate listener for peer RPC, or null to serve it on `port`. */
  abstract readonly peerPort: number | null;
  /** The other members; never contains `id`. Empty for a single-node cluster. */
  abstract readonly peers: readonly PeerConfig[];
  abstract readonly dataDir: string;
  /** With a token, /raft/* and mutating /admin/* require `Authorization: Bearer <token>`. */
  abstract readonly clusterToken: string | null;
  /** Skips fsync. Only for throwaway clusters: acknowledged writes can be lost on a crash. */
  abstract readonly unsafeNoFsync: boolean;

  /** One tick of the Raft core; every timeout below is a whole number of ticks. */
  abstract readonly tickMs: number;
  abstract readonly heartbeatMs: number;
  abstract readonly heartbeatTicks: number;
  /** Election timeout is drawn uniformly from [min, max] ms (Raft 5.2). */
  abstract readonly electionTimeoutMinMs: number;
  abstract readonly electionTimeoutMaxMs: number;
  abstract readonly electionTimeoutMinTicks: number;
  abstract readonly electionTimeoutMaxTicks: number;

  /** Take a snapshot after this many entries applied since the last one. */
  abstract readonly snapshotEntries: number;
  /** A WAL segment is closed and a new one started past this size. */
  abstract readonly walSegmentBytesMax: number;
  /** InstallSnapshot and snapshot streaming chunk size. */
  abstract readonly snapshotChunkBytes: number;
  /** A client request not committed and applied within this answers 504 timeout. */
  abstract readonly requestTimeoutMs: number;
  abstract readonly keyBytesMax: number;
  abstract readonly valueBytesMax: number;
  /** Largest `limit` a listing may ask for. */
  abstract readonly listLimitMax: number;
  /** Client sessions idle longer than this (by log time) expire; at least `requestTimeoutMs`. */
  abstract readonly sessionTtlMs: number;
  abstract readonly sessionsMax: number;
  /** Proposals waiting for commit on the leader; past it, new writes answer 503. */
  abstract readonly pendingProposalsMax: number;
  /** AppendEntries sent to one follower and not yet answered. */
  abstract readonly inflightAppendsMax: number;
  /** Bytes of entries in one AppendEntries (one entry larger than this still goes alone). */
  abstract readonly appendBatchBytesMax: number;
}

const KiB = 1024;
const MiB = 1024 * KiB;

/** Defaults of the tunables (SPEC section 1 where it names them). */
export const RAFT_CONFIG_DEFAULTS = {
  host: '127.0.0.1',
  tickMs: 10,
  heartbeatMs: 50,
  electionTimeoutMinMs: 300,
  electionTimeoutMaxMs: 500,
  snapshotEntries: 10_000,
  walSegmentBytesMax: 64 * MiB,
  snapshotChunkBytes: 1 * MiB,
  requestTimeoutMs: 5_000,
  keyBytesMax: 1024,
  valueBytesMax: 1 * MiB,
  listLimitMax: 10_000,
  sessionTtlMs: 60 * 60 * 1000,
  sessionsMax: 100_000,
  pendingProposalsMax: 10_000,
  inflightAppendsMax: 64,
  appendBatchBytesMax: 4 * MiB,
} as const;
