import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DataDirLock, DataDirLockedError } from '../../src/storage/data-dir-lock.js';
import { RaftStorage } from '../../src/storage/raft-storage.js';
import { buildStorageForChildren, childScript, removeChildBuild, startChild, waitFor, type RunningChild } from './helpers/children.js';
import { silentLogger } from './helpers/entries.js';
import { makeTempDir, removeDir } from './helpers/temp-dir.js';

let buildDir: string;
let dir: string;
const children: RunningChild[] = [];

beforeAll(() => {
  buildDir = buildStorageForChildren('lock');
});
afterAll(async () => {
  await removeChildBuild(buildDir);
});
beforeEach(async () => {
  dir = await makeTempDir('lock');
});
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.process.exitCode === null && child.process.signalCode === null) {
      child.process.kill('SIGKILL');
      await child.exited;
    }
  }
  await removeDir(dir);
});

function lockChild(): RunningChild {
  const child = startChild(childScript('lock-child.mjs'), [buildDir, dir], {});
  children.push(child);
  return child;
}

describe('DataDirLock', () => {
  it('refuses a second holder in the same process, naming the directory and the holder', async () => {
    const first = await DataDirLock.acquire(dir);
    const error = await DataDirLock.acquire(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataDirLockedError);
    expect((error as DataDirLockedError).holder).toMatchObject({ pid: process.pid, host: hostname() });
    expect((error as Error).message).toContain(dir);
    expect((error as Error).message).not.toContain('\n');
    await first.release();
    const again = await DataDirLock.acquire(dir);
    await again.release();
  });

  it('writes the holder beside the LOCK directory and removes it on release', async () => {
    const lock = await DataDirLock.acquire(dir);
    const holder = JSON.parse(await readFile(join(dir, 'LOCK.holder'), 'utf8'));
    expect(holder).toMatchObject({ pid: process.pid, host: hostname() });
    await lock.release();
    await expect(readFile(join(dir, 'LOCK.holder'), 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('makes a second process exit with one clear line while this one holds the directory', async () => {
    const storage = await RaftStorage.open(dir, { logger: silentLogger });
    try {
      const child = lockChild();
      expect(await child.exited).toBe(1);
      const lines = child.stderr().trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toBe(`data directory ${dir} is locked by process ${process.pid} on host ${hostname()} (since ${JSON.parse(await readFile(join(dir, 'LOCK.holder'), 'utf8')).since}); stop that node or choose another --data-dir`);
    } finally {
      await storage.close();
    }
  });

  it('refuses this process while another live process holds the directory', async () => {
    const child = lockChild();
    await waitFor(() => child.lines.includes('locked') || child.process.exitCode !== null, 10_000, 'the child to lock');
    expect(child.lines).toContain('locked');
    await expect(RaftStorage.open(dir, { logger: silentLogger })).rejects.toThrow(`locked by process ${child.process.pid}`);
  });

  it('takes over the lock of a killed process once it is stale', async () => {
    const child = lockChild();
    await waitFor(() => child.lines.includes('locked') || child.process.exitCode !== null, 10_000, 'the child to lock');
    child.process.kill('SIGKILL');
    await child.exited;
    const startedMs = Date.now();
    const storage = await RaftStorage.open(dir, { logger: silentLogger, lock: { staleMs: 2000 } });
    // It waited for the lock to go stale (2 s after the child's last refresh) rather than breaking
    // it at once, and no longer than that plus slack.
    const waitedMs = Date.now() - startedMs;
    expect(waitedMs).toBeGreaterThanOrEqual(1000);
    expect(waitedMs).toBeLessThan(10_000);
    const holder = JSON.parse(await readFile(join(dir, 'LOCK.holder'), 'utf8'));
    expect(holder.pid).toBe(process.pid);
    await storage.close();
  });
});
