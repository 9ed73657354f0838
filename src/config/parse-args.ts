/**
 * Command line + environment -> RaftConfig, or one line saying what is wrong (SPEC 1: "a bad
 * flag or config exits non-zero with one clear line naming the flag; nothing is written").
 * Flags win over environment variables (`--data-dir` over `RAFT_DATA_DIR`). Pure: reads only
 * the argv and env it is given, so tests pass their own.
 */
import { parseArgs } from 'node:util';
import { ConfigError, envName, FlagValues } from './flag-values.js';
import { RAFT_CONFIG_DEFAULTS as D, type RaftConfig } from './raft-config.js';

interface FlagHelp {
  readonly type: 'string' | 'boolean';
  readonly help: string;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Every flag the node takes; each also reads RAFT_<NAME> (see envName). */
export const RAFT_FLAGS: Readonly<Record<string, FlagHelp>> = {
  id: { type: 'string', help: 'this node id (required)' },
  port: { type: 'string', help: 'client API port; peer RPC too unless --peer-port (required)' },
  peers: { type: 'string', help: 'the other members, id=url,... (url where that member serves peer RPC)' },
  host: { type: 'string', help: `address to listen on (default ${D.host})` },
  'data-dir': { type: 'string', help: 'data directory (default data/<id>)' },
  'cluster-token': { type: 'string', help: 'bearer token required on /raft/* and mutating /admin/*' },
  'peer-port': { type: 'string', help: 'serve peer RPC on this port instead of the client port' },
  'unsafe-no-fsync': { type: 'boolean', help: 'skip fsync: a crash can lose acknowledged writes' },
  'tick-ms': { type: 'string', help: `Raft tick (default ${D.tickMs})` },
  'heartbeat-ms': { type: 'string', help: `leader heartbeat interval (default ${D.heartbeatMs})` },
  'election-timeout-min-ms': { type: 'string', help: `election timeout lower bound (default ${D.electionTimeoutMinMs})` },
  'election-timeout-max-ms': { type: 'string', help: `election timeout upper bound (default ${D.electionTimeoutMaxMs})` },
  'snapshot-entries': { type: 'string', help: `snapshot after this many applied entries (default ${D.snapshotEntries})` },
  'wal-segment-bytes': { type: 'string', help: 'WAL segment size, e.g. 64MiB (default 64MiB)' },
  'snapshot-chunk-bytes': { type: 'string', help: 'InstallSnapshot chunk size (default 1MiB)' },
  'request-timeout-ms': { type: 'string', help: `client request timeout (default ${D.requestTimeoutMs})` },
  'key-bytes-max': { type: 'string', help: `largest key in UTF-8 bytes (default ${D.keyBytesMax})` },
  'value-bytes-max': { type: 'string', help: 'largest value in UTF-8 bytes (default 1MiB)' },
  'list-limit-max': { type: 'string', help: `largest listing limit (default ${D.listLimitMax})` },
  'session-ttl-ms': { type: 'string', help: `idle client session expiry, by log time (default ${D.sessionTtlMs})` },
  'sessions-max': { type: 'string', help: `most client sessions kept (default ${D.sessionsMax})` },
  'pending-proposals-max': { type: 'string', help: `most writes awaiting commit (default ${D.pendingProposalsMax})` },
  'inflight-appends-max': { type: 'string', help: `unanswered AppendEntries per follower (default ${D.inflightAppendsMax})` },
  'append-batch-bytes-max': { type: 'string', help: 'entry bytes per AppendEntries (default 4MiB)' },
};

export type RaftConfigParseResult =
  | { readonly kind: 'config'; readonly config: RaftConfig }
  | { readonly kind: 'error'; readonly message: string }
  | { readonly kind: 'help'; readonly text: string };

export function parseRaftConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): RaftConfigParseResult {
  let flags: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(Object.entries(RAFT_FLAGS).map(([name, f]) => [name, { type: f.type }]));
    const parsed = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    flags = parsed.values as Record<string, string | boolean | undefined>;
  } catch (e) {
    return { kind: 'error', message: describeParseError(e) };
  }
  if (flags['help'] === true) return { kind: 'help', text: raftUsage() };
  try {
    return { kind: 'config', config: buildConfig(new FlagValues(flags, env)) };
  } catch (e) {
    if (e instanceof ConfigError) return { kind: 'error', message: e.message };
    throw e;
  }
}

function buildConfig(v: FlagValues): RaftConfig {
  const id = v.nodeId('id');
  const port = v.port('port');
  const peerPort = v.optionalPort('peer-port');
  if (peerPort === port) v.fail('peer-port', `must differ from --port (${port})`);
  const peers = v.peers('peers', id);

  const dataDirFound = v.optionalString('data-dir');
  if (dataDirFound !== undefined && dataDirFound.raw.trim() === '') v.fail('data-dir', 'must not be empty');
  const dataDir = dataDirFound?.raw ?? `data/${id}`;

  const tokenFound = v.optionalString('cluster-token');
  if (tokenFound !== undefined && !/^[\x21-\x7e]+$/.test(tokenFound.raw)) {
    v.fail('cluster-token', 'must be printable ASCII without spaces (it travels in an HTTP header)');
  }

  const tickMs = v.int('tick-ms', D.tickMs, 1, 1000);
  const inTicks = (flag: string, ms: number): number => {
    if (ms % tickMs !== 0) v.fail(flag, `must be a multiple of --tick-ms (${tickMs}), got ${ms}`);
    return ms / tickMs;
  };
  const heartbeatMs = v.int('heartbeat-ms', D.heartbeatMs, 1, 60_000);
  const heartbeatTicks = inTicks('heartbeat-ms', heartbeatMs);
  const electionTimeoutMinMs = v.int('election-timeout-min-ms', D.electionTimeoutMinMs, 1, 600_000);
  // Several heartbeats per election timeout, so one lost heartbeat does not start an election.
  if (electionTimeoutMinMs < 3 * heartbeatMs) {
    v.fail('election-timeout-min-ms', `must be at least 3 x --heartbeat-ms (${3 * heartbeatMs}), got ${electionTimeoutMinMs}`);
  }
  const electionTimeoutMinTicks = inTicks('election-timeout-min-ms', electionTimeoutMinMs);
  const electionTimeoutMaxMs = v.int('election-timeout-max-ms', D.electionTimeoutMaxMs, 1, 600_000);
  // A range, not a point: randomized timeouts are what break split votes (Raft 5.2).
  if (electionTimeoutMaxMs <= electionTimeoutMinMs) {
    v.fail('election-timeout-max-ms', `must be greater than --election-timeout-min-ms (${electionTimeoutMinMs}), got ${electionTimeoutMaxMs}`);
  }
  const electionTimeoutMaxTicks = inTicks('election-timeout-max-ms', electionTimeoutMaxMs);

  const requestTimeoutMs = v.int('request-timeout-ms', D.requestTimeoutMs, 1, 3_600_000);
  const sessionTtlMs = v.int('session-ttl-ms', D.sessionTtlMs, 1, 30 * 24 * 3_600_000);
  // A client retries a timed-out write with the same seq; its session must outlive that.
  if (sessionTtlMs < requestTimeoutMs) {
    v.fail('session-ttl-ms', `must be at least --request-timeout-ms (${requestTimeoutMs}), got ${sessionTtlMs}`);
  }

  const config: RaftConfig = {
    id,
    host: v.host('host', D.host),
    port,
    peerPort,
    peers,
    dataDir,
    clusterToken: tokenFound?.raw ?? null,
    unsafeNoFsync: v.bool('unsafe-no-fsync'),
    tickMs,
    heartbeatMs,
    heartbeatTicks,
    electionTimeoutMinMs,
    electionTimeoutMaxMs,
    electionTimeoutMinTicks,
    electionTimeoutMaxTicks,
    snapshotEntries: v.int('snapshot-entries', D.snapshotEntries, 1, 1_000_000_000),
    walSegmentBytesMax: v.bytes('wal-segment-bytes', D.walSegmentBytesMax, 4 * KiB, 1 * GiB),
    snapshotChunkBytes: v.bytes('snapshot-chunk-bytes', D.snapshotChunkBytes, 4 * KiB, 64 * MiB),
    requestTimeoutMs,
    keyBytesMax: v.bytes('key-bytes-max', D.keyBytesMax, 1, 64 * KiB),
    valueBytesMax: v.bytes('value-bytes-max', D.valueBytesMax, 1, 64 * MiB),
    listLimitMax: v.int('list-limit-max', D.listLimitMax, 1, 1_000_000),
    sessionTtlMs,
    sessionsMax: v.int('sessions-max', D.sessionsMax, 1, 10_000_000),
    pendingProposalsMax: v.int('pending-proposals-max', D.pendingProposalsMax, 1, 1_000_000),
    inflightAppendsMax: v.int('inflight-appends-max', D.inflightAppendsMax, 1, 10_000),
    appendBatchBytesMax: v.bytes('append-batch-bytes-max', D.appendBatchBytesMax, 4 * KiB, 256 * MiB),
  };
  return Object.freeze({ ...config, peers: Object.freeze(peers.map((p) => Object.freeze(p))) });
}

/** node:util parseArgs errors, rephrased as one line naming the flag. */
function describeParseError(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const message = err.message ?? String(e);
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  const flag = quoted.split(' ')[0] ?? quoted;
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `${flag}: unknown flag (see --help)`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return message.includes('does not take an argument') ? `${flag}: takes no value` : `${flag}: needs a value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${JSON.stringify(quoted)}: every setting is a --flag (see --help)`;
    default:
      throw e;
  }
}

export function raftUsage(): string {
  const lines = Object.entries(RAFT_FLAGS).map(([name, f]) => {
    const left = `  --${name}${f.type === 'string' ? ' <value>' : ''}`;
    return `${left.padEnd(38)} ${f.help} [${envName(name)}]`;
  });
  return ['Usage: node dist/main.js --id n1 --port 7001 --peers n2=http://127.0.0.1:7002,n3=http://127.0.0.1:7003', '', ...lines].join('\n');
}
