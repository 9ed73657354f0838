import { describe, expect, it } from '@jest/globals';
import { parseRaftConfig, RAFT_FLAGS } from '../../src/config/parse-args.js';
import { RAFT_CONFIG_DEFAULTS, type RaftConfig } from '../../src/config/raft-config.js';

const BASE = ['--id', 'n1', '--port', '7001'];

function ok(argv: string[], env: Record<string, string> = {}): RaftConfig {
  const result = parseRaftConfig(argv, env);
  if (result.kind !== 'config') throw new Error(`expected a config, got ${JSON.stringify(result)}`);
  return result.config;
}

function error(argv: string[], env: Record<string, string> = {}): string {
  const result = parseRaftConfig(argv, env);
  if (result.kind !== 'error') throw new Error(`expected an error, got ${JSON.stringify(result)}`);
  expect(result.message).not.toContain('\n'); // SPEC 1: one clear line
  return result.message;
}

describe('parseRaftConfig: values and defaults (SPEC 1)', () => {
  it('the SPEC example gives the documented defaults', () => {
    const config = ok(['--id', 'n1', '--port', '7001', '--peers', 'n2=http://127.0.0.1:7002,n3=http://127.0.0.1:7003']);
    expect(config).toEqual({
      id: 'n1',
      host: '127.0.0.1',
      port: 7001,
      peerPort: null,
      peers: [
        { id: 'n2', url: 'http://127.0.0.1:7002' },
        { id: 'n3', url: 'http://127.0.0.1:7003' },
      ],
      dataDir: 'data/n1',
      clusterToken: null,
      unsafeNoFsync: false,
      tickMs: 10,
      heartbeatMs: 50,
      heartbeatTicks: 5,
      electionTimeoutMinMs: 300,
      electionTimeoutMaxMs: 500,
      electionTimeoutMinTicks: 30,
      electionTimeoutMaxTicks: 50,
      snapshotEntries: 10_000,
      walSegmentBytesMax: 64 * 1024 * 1024,
      snapshotChunkBytes: 1024 * 1024,
      requestTimeoutMs: 5000,
      keyBytesMax: 1024,
      valueBytesMax: 1024 * 1024,
      listLimitMax: RAFT_CONFIG_DEFAULTS.listLimitMax,
      sessionTtlMs: 3_600_000,
      sessionsMax: 100_000,
      pendingProposalsMax: RAFT_CONFIG_DEFAULTS.pendingProposalsMax,
      inflightAppendsMax: RAFT_CONFIG_DEFAULTS.inflightAppendsMax,
      appendBatchBytesMax: RAFT_CONFIG_DEFAULTS.appendBatchBytesMax,
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.peers)).toBe(true);
  });

  it('reads every flag', () => {
    const config = ok([
      ...BASE,
      '--host', '0.0.0.0',
      '--peers', 'n2=https://proxy.example:8443/raft-n2/,n3=http://[::1]:7003',
      '--data-dir', '/var/lib/raft/n1',
      '--cluster-token', 's3cr3t-token',
      '--peer-port', '8001',
      '--unsafe-no-fsync',
      '--tick-ms', '5',
      '--heartbeat-ms', '20',
      '--election-timeout-min-ms', '100',
      '--election-timeout-max-ms', '200',
      '--snapshot-entries', '500',
      '--wal-segment-bytes', '8MiB',
      '--snapshot-chunk-bytes', '64KiB',
      '--request-timeout-ms', '2000',
      '--key-bytes-max', '512',
      '--value-bytes-max', '2MiB',
      '--list-limit-max', '50',
      '--session-ttl-ms', '60000',
      '--sessions-max', '10',
      '--pending-proposals-max', '100',
      '--inflight-appends-max', '8',
      '--append-batch-bytes-max', '1048576',
    ]);
    expect(config).toMatchObject({
      host: '0.0.0.0',
      peers: [
        { id: 'n2', url: 'https://proxy.example:8443/raft-n2' },
        { id: 'n3', url: 'http://[::1]:7003' },
      ],
      dataDir: '/var/lib/raft/n1',
      clusterToken: 's3cr3t-token',
      peerPort: 8001,
      unsafeNoFsync: true,
      tickMs: 5,
      heartbeatMs: 20,
      heartbeatTicks: 4,
      electionTimeoutMinMs: 100,
      electionTimeoutMaxMs: 200,
      electionTimeoutMinTicks: 20,
      electionTimeoutMaxTicks: 40,
      snapshotEntries: 500,
      walSegmentBytesMax: 8 * 1024 * 1024,
      snapshotChunkBytes: 64 * 1024,
      requestTimeoutMs: 2000,
      keyBytesMax: 512,
      valueBytesMax: 2 * 1024 * 1024,
      listLimitMax: 50,
      sessionTtlMs: 60_000,
      sessionsMax: 10,
      pendingProposalsMax: 100,
      inflightAppendsMax: 8,
      appendBatchBytesMax: 1024 * 1024,
    });
  });

  it('accepts --flag=value and no peers (a single-node cluster)', () => {
    expect(ok(['--id=solo', '--port=7001'])).toMatchObject({ id: 'solo', port: 7001, peers: [] });
    expect(ok([...BASE, '--peers', ''])).toMatchObject({ peers: [] });
  });

  it('falls back to RAFT_* environment variables for every flag; flags win', () => {
    const env: Record<string, string> = {
      RAFT_ID: 'e1',
      RAFT_PORT: '9001',
      RAFT_PEERS: 'e2=http://10.0.0.2:9001',
      RAFT_HOST: 'node-1.internal',
      RAFT_DATA_DIR: '/data/e1',
      RAFT_CLUSTER_TOKEN: 'tok',
      RAFT_PEER_PORT: '9101',
      RAFT_UNSAFE_NO_FSYNC: 'true',
      RAFT_TICK_MS: '20',
      RAFT_HEARTBEAT_MS: '40',
      RAFT_ELECTION_TIMEOUT_MIN_MS: '200',
      RAFT_ELECTION_TIMEOUT_MAX_MS: '400',
      RAFT_SNAPSHOT_ENTRIES: '7',
      RAFT_WAL_SEGMENT_BYTES: '1GiB',
      RAFT_SNAPSHOT_CHUNK_BYTES: '4096',
      RAFT_REQUEST_TIMEOUT_MS: '1000',
      RAFT_KEY_BYTES_MAX: '100',
      RAFT_VALUE_BYTES_MAX: '100',
      RAFT_LIST_LIMIT_MAX: '3',
      RAFT_SESSION_TTL_MS: '1000',
      RAFT_SESSIONS_MAX: '3',
      RAFT_PENDING_PROPOSALS_MAX: '4',
      RAFT_INFLIGHT_APPENDS_MAX: '5',
      RAFT_APPEND_BATCH_BYTES_MAX: '8KiB',
    };
    // Every flag has its variable, and the table above names each one.
    expect(Object.keys(RAFT_FLAGS).map((f) => `RAFT_${f.toUpperCase().replaceAll('-', '_')}`).sort()).toEqual(Object.keys(env).sort());
    expect(ok([], env)).toMatchObject({
      id: 'e1', port: 9001, peers: [{ id: 'e2', url: 'http://10.0.0.2:9001' }], host: 'node-1.internal', dataDir: '/data/e1',
      clusterToken: 'tok', peerPort: 9101, unsafeNoFsync: true, tickMs: 20, heartbeatMs: 40, electionTimeoutMinMs: 200,
      electionTimeoutMaxMs: 400, snapshotEntries: 7, walSegmentBytesMax: 1024 ** 3, snapshotChunkBytes: 4096,
      requestTimeoutMs: 1000, keyBytesMax: 100, valueBytesMax: 100, listLimitMax: 3, sessionTtlMs: 1000, sessionsMax: 3,
      pendingProposalsMax: 4, inflightAppendsMax: 5, appendBatchBytesMax: 8192,
    });
    expect(ok(['--id', 'f1', '--port', '7001', '--data-dir', 'here'], env)).toMatchObject({ id: 'f1', port: 7001, dataDir: 'here', peerPort: 9101 });
  });

  it('an empty variable counts as unset; boolean variables read true/false/1/0/yes/no', () => {
    expect(ok(BASE, { RAFT_DATA_DIR: '', RAFT_HOST: '' })).toMatchObject({ dataDir: 'data/n1', host: '127.0.0.1' });
    for (const [raw, expected] of [['1', true], ['YES', true], ['0', false], ['false', false], ['no', false]] as const) {
      expect(ok(BASE, { RAFT_UNSAFE_NO_FSYNC: raw }).unsafeNoFsync).toBe(expected);
    }
  });

  it('answers help with a usage listing every flag and its variable', () => {
    const result = parseRaftConfig(['--help'], {});
    expect(result.kind).toBe('help');
    const text = result.kind === 'help' ? result.text : '';
    for (const flag of Object.keys(RAFT_FLAGS)) expect(text).toContain(`--${flag}`);
    expect(text).toContain('RAFT_DATA_DIR');
    expect(parseRaftConfig(['-h'], {}).kind).toBe('help');
  });
});

describe('parseRaftConfig: one clear line naming the flag', () => {
  it.each([
    [[], '--id: is required (or set RAFT_ID)'],
    [['--id', 'n1'], '--port: is required (or set RAFT_PORT)'],
    [['--id', 'n 1', '--port', '1'], `--id: must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, got "n 1"`],
    [['--id', '-x', '--port', '1'], '--id: needs a value'],
    [['--id', 'n1', '--port', 'abc'], '--port: must be an integer 1-65535, got "abc"'],
    [['--id', 'n1', '--port', '0'], '--port: must be an integer 1-65535, got "0"'],
    [['--id', 'n1', '--port', '65536'], '--port: must be an integer 1-65535, got "65536"'],
    [['--id', 'n1', '--port', '70.5'], '--port: must be an integer 1-65535, got "70.5"'],
    [['--id', 'n1', '--port', '-5'], '--port: needs a value'],
    [[...BASE, '--port', ''], '--port: must be an integer 1-65535, got ""'],
    [[...BASE, '--peer-port', '7001'], '--peer-port: must differ from --port (7001)'],
    [[...BASE, '--peer-port', 'x'], '--peer-port: must be an integer 1-65535, got "x"'],
    [[...BASE, '--peers', 'n2'], '--peers: each entry must be id=url, got "n2"'],
    [[...BASE, '--peers', 'n2=http://a:1,'], '--peers: each entry must be id=url, got ""'],
    [[...BASE, '--peers', 'n1=http://a:1'], `--peers: lists this node's own id "n1"; list only the other members`],
    [[...BASE, '--peers', 'n2=http://a:1,n2=http://b:1'], '--peers: peer id "n2" appears twice'],
    [[...BASE, '--peers', 'n2=http://a:1,n3=http://a:1/'], '--peers: peers n2 and n3 have the same url http://a:1'],
    [[...BASE, '--peers', 'n2=ftp://a:1'], '--peers: peer n2 url must be an http:// or https:// URL with a host and no query, got "ftp://a:1"'],
    [[...BASE, '--peers', 'n2=127.0.0.1:7002'], '--peers: peer n2 url must be an http:// or https:// URL with a host and no query, got "127.0.0.1:7002"'],
    [[...BASE, '--peers', 'n2=http://a:1/?x=1'], '--peers: peer n2 url must be an http:// or https:// URL with a host and no query, got "http://a:1/?x=1"'],
    [[...BASE, '--peers', 'n2=http://user:pw@a:1'], '--peers: peer n2 url must be an http:// or https:// URL with a host and no query, got "http://user:pw@a:1"'],
    [[...BASE, '--peers', '=http://a:1'], `--peers: peer id must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit, got ""`],
    [[...BASE, '--host', 'bad host'], '--host: must be an IP address or a host name, got "bad host"'],
    [[...BASE, '--data-dir', ' '], '--data-dir: must not be empty'],
    [[...BASE, '--cluster-token', 'has space'], '--cluster-token: must be printable ASCII without spaces (it travels in an HTTP header)'],
    [[...BASE, '--unsafe-no-fsync=yes'], '--unsafe-no-fsync: takes no value'],
    [[...BASE, '--tick-ms', '0'], '--tick-ms: must be an integer 1-1000, got "0"'],
    [[...BASE, '--heartbeat-ms', '55'], '--heartbeat-ms: must be a multiple of --tick-ms (10), got 55'],
    [[...BASE, '--heartbeat-ms', '200'], '--election-timeout-min-ms: must be at least 3 x --heartbeat-ms (600), got 300'],
    [[...BASE, '--election-timeout-min-ms', '305'], '--election-timeout-min-ms: must be a multiple of --tick-ms (10), got 305'],
    [[...BASE, '--election-timeout-min-ms', '500'], '--election-timeout-max-ms: must be greater than --election-timeout-min-ms (500), got 500'],
    [[...BASE, '--election-timeout-max-ms', '250'], '--election-timeout-max-ms: must be greater than --election-timeout-min-ms (300), got 250'],
    [[...BASE, '--election-timeout-max-ms', '505'], '--election-timeout-max-ms: must be a multiple of --tick-ms (10), got 505'],
    [[...BASE, '--snapshot-entries', '0'], '--snapshot-entries: must be an integer 1-1000000000, got "0"'],
    [[...BASE, '--wal-segment-bytes', '64MB'], '--wal-segment-bytes: must be a byte size 4096-1073741824 (an integer, optionally with KiB, MiB or GiB), got "64MB"'],
    [[...BASE, '--wal-segment-bytes', '2GiB'], '--wal-segment-bytes: must be a byte size 4096-1073741824 (an integer, optionally with KiB, MiB or GiB), got "2GiB"'],
    [[...BASE, '--value-bytes-max', '-1'], '--value-bytes-max: needs a value'],
    [[...BASE, '--key-bytes-max', '0'], '--key-bytes-max: must be a byte size 1-65536 (an integer, optionally with KiB, MiB or GiB), got "0"'],
    [[...BASE, '--request-timeout-ms', '1e3'], '--request-timeout-ms: must be an integer 1-3600000, got "1e3"'],
    [[...BASE, '--session-ttl-ms', '4999'], '--session-ttl-ms: must be at least --request-timeout-ms (5000), got 4999'],
    [[...BASE, '--sessions-max', '0'], '--sessions-max: must be an integer 1-10000000, got "0"'],
    [[...BASE, '--list-limit-max', ''], '--list-limit-max: must be an integer 1-1000000, got ""'],
    [[...BASE, '--pending-proposals-max', 'lots'], '--pending-proposals-max: must be an integer 1-1000000, got "lots"'],
    [[...BASE, '--inflight-appends-max', '0'], '--inflight-appends-max: must be an integer 1-10000, got "0"'],
    [[...BASE, '--append-batch-bytes-max', '1KiB'], '--append-batch-bytes-max: must be a byte size 4096-268435456 (an integer, optionally with KiB, MiB or GiB), got "1KiB"'],
    [[...BASE, '--snapshot-chunk-bytes', '100'], '--snapshot-chunk-bytes: must be a byte size 4096-67108864 (an integer, optionally with KiB, MiB or GiB), got "100"'],
    [[...BASE, '--bogus', '1'], '--bogus: unknown flag (see --help)'],
    [[...BASE, '--port'], '--port: needs a value'],
    [[...BASE, 'stray'], 'unexpected argument "stray": every setting is a --flag (see --help)'],
  ])('%j -> %s', (argv, message) => {
    expect(error(argv)).toBe(message);
  });

  it('names the variable when the bad value came from the environment', () => {
    expect(error(BASE, { RAFT_HEARTBEAT_MS: 'fast' })).toBe('--heartbeat-ms (RAFT_HEARTBEAT_MS): must be an integer 1-60000, got "fast"');
    expect(error(['--id', 'n1'], { RAFT_PORT: '99999' })).toBe('--port (RAFT_PORT): must be an integer 1-65535, got "99999"');
    expect(error(BASE, { RAFT_PEERS: 'n1=http://a:1' })).toBe(`--peers (RAFT_PEERS): lists this node's own id "n1"; list only the other members`);
    expect(error(BASE, { RAFT_UNSAFE_NO_FSYNC: 'maybe' })).toBe('--unsafe-no-fsync (RAFT_UNSAFE_NO_FSYNC): must be true or false, got "maybe"');
  });

  it('a valid flag overrides a bad variable', () => {
    expect(ok([...BASE, '--tick-ms', '10'], { RAFT_TICK_MS: 'nope' }).tickMs).toBe(10);
  });
});
