import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { parseRaftConfig } from '../../src/config/parse-args.js';
import type { RaftConfig } from '../../src/config/raft-config.js';
import { bootFromStorage, clusterVoters, raftTuning } from '../../src/consensus/node-boot.js';
import { RaftHost } from '../../src/consensus/raft-host.js';
import { RaftStorage } from '../../src/storage/raft-storage.js';
import { CountingMetrics, ManualClock, silentLog, TEST_HOST_OPTIONS } from './helpers/host-cluster.js';

/**
 * A node restarts from its data directory: the state machine from the newest snapshot, the core
 * from hard state + log, and the committed entries after the snapshot are applied again. Real
 * files (RaftStorage), a single voter, no network.
 */

let dir: string | null = null;
afterEach(async () => {
  if (dir !== null) await rm(dir, { recursive: true, force: true });
  dir = null;
});

function configFor(dataDir: string, extra: string[] = []): RaftConfig {
  const parsed = parseRaftConfig(['--id', 'n1', '--port', '7000', '--data-dir', dataDir, ...extra], {});
  if (parsed.kind !== 'config') throw new Error(`bad test config: ${JSON.stringify(parsed)}`);
  return parsed.config;
}

const noTransport = { send: () => undefined, lastContactAt: () => null, close: async () => undefined };

async function startNode(config: RaftConfig, clock: ManualClock) {
  const storage = await RaftStorage.open(config.dataDir, { logger: silentLog });
  const booted = await bootFromStorage(config, storage);
  const fatal: unknown[] = [];
  const host = new RaftHost(
    { ...TEST_HOST_OPTIONS, snapshotEntries: 5, nodeId: config.id, memberUrl: () => null },
    {
      raft: booted.raft,
      storage,
      transport: noTransport,
      stateMachine: booted.stateMachine,
      clock,
      metrics: new CountingMetrics(),
      log: silentLog,
      durableHardState: storage.hardState,
      restoredSnapshot: booted.snapshot,
      fatal: (e) => fatal.push(e),
    },
  );
  await host.whenIdle();
  return { storage, booted, host, fatal };
}

async function tickUntilLeader(host: RaftHost): Promise<void> {
  for (let k = 0; k < 100 && host.raft.role !== 'leader'; k++) {
    host.tick();
    await host.whenIdle();
  }
  expect(host.raft.role).toBe('leader');
  await host.whenIdle();
}

describe('booting a node from its data directory', () => {
  it('maps the config to the core: voters sorted, election range inclusive, entries big enough for a cas of two max values', () => {
    const config = configFor('/unused', ['--peers', 'n3=http://h:3,n2=http://h:2', '--value-bytes-max', '4MiB']);
    expect(clusterVoters(config)).toEqual(['n1', 'n2', 'n3']);
    const tuning = raftTuning(config);
    expect(tuning.electionTicksMin).toBe(30);
    expect(tuning.electionTicksMax).toBe(51);
    expect(tuning.maxEntryBytes).toBeGreaterThan(2 * 4 * 1024 * 1024 + 1024);
  });

  it('restores the snapshot and re-applies the committed entries after it', async () => {
    dir = await mkdtemp(join(tmpdir(), 'raft-kv-boot-'));
    const config = configFor(dir);
    const clock = new ManualClock();
    const first = await startNode(config, clock);
    expect(first.booted.entriesLoaded).toBe(0);
    await tickUntilLeader(first.host);
    for (let k = 0; k < 9; k++) {
      const write = first.host.write({ op: 'put', key: `k${k}`, value: `v${k}` });
      await first.host.whenIdle();
      await write;
    }
    // The snapshot (every 5 applied entries) is written in the background; wait for it.
    await first.host.snapshotter.running;
    const before = first.host.stateMachine.list('', 100);
    const applied = first.host.applied;
    const snapshotIndex = first.storage.snapshot?.index ?? 0;
    expect(snapshotIndex).toBeGreaterThan(0);
    expect(snapshotIndex).toBeLessThan(applied);
    await first.host.stop();
    await first.storage.close();

    const second = await startNode(config, clock);
    expect(second.booted.snapshot?.index).toBe(snapshotIndex);
    // The stop flushed the commit index, so the restarted node re-applies up to it at once.
    expect(second.host.applied).toBe(applied);
    expect(second.host.stateMachine.list('', 100)).toEqual(before);
    await tickUntilLeader(second.host);
    await expect(second.host.write({ op: 'put', key: 'after', value: 'restart' })).resolves.toMatchObject({ key: 'after', value: 'restart' });
    expect(second.fatal).toEqual([]);
    await second.host.stop();
    await second.storage.close();
  });
});
