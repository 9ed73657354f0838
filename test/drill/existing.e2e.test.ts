/**
 * `kvctl drill NAME --existing` against a cluster started by `npm start`'s script on free ports
 * and a temp data dir (RAFT_KV_BASE_PORT, RAFT_KV_DATA_DIR, RAFT_KV_DIST): the drill acts
 * through the supervisor's control API, passes, leaves the cluster running and healed, and the
 * user's data (a key written before the drill, the data dirs) is still there afterwards.
 * Ctrl-C then stops the supervisor and its nodes with exit 0, keeping the data.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { KvClient } from '../../src/client/kv-client.js';
import { until } from '../../src/drill/poll.js';
import { buildService, REPO_ROOT } from '../e2e/helpers/build.js';
import { check, DRILL_DEADLINE_MS, expectPass, figure, runKvctlDrill } from './helpers/kvctl-drill.js';

const START_DEADLINE_MS = 45_000;
const STOP_DEADLINE_MS = 20_000;

let dist: string;
let dataDir: string;
let basePort: number;
let supervisor: ChildProcess;
let supervisorOutput = '';
let supervisorExit: Promise<number | null>;

/** True if `port` can be listened on right now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A base port with it and the next three free (control API + 3 nodes). */
async function freeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const free = await Promise.all([0, 1, 2, 3].map((i) => portFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no 4 consecutive free ports found');
}

const control = (): string => `http://127.0.0.1:${basePort}`;
const nodeUrls = (): string[] => [1, 2, 3].map((i) => `http://127.0.0.1:${basePort + i}`);

async function controlGet(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${control()}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  dist = dirname(await buildService());
  dataDir = await mkdtemp(join(tmpdir(), 'raft-kv-start-'));
  basePort = await freeBasePort();
  supervisor = spawn(process.execPath, [join(REPO_ROOT, 'scripts', 'start.mjs')], {
    cwd: REPO_ROOT,
    env: { ...process.env, RAFT_KV_BASE_PORT: String(basePort), RAFT_KV_DATA_DIR: dataDir, RAFT_KV_DIST: dist },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [supervisor.stdout!, supervisor.stderr!]) stream.on('data', (chunk: Buffer) => (supervisorOutput += chunk.toString()));
  supervisorExit = new Promise((resolve) => supervisor.on('exit', (code) => resolve(code)));
  // Ready: every node names the same leader.
  await until('the supervised cluster to elect a leader', START_DEADLINE_MS, async () => {
    const statuses = await Promise.all(nodeUrls().map(async (url) => (await (await fetch(`${url}/admin/status`, { signal: AbortSignal.timeout(1000) })).json()) as { leaderId: string | null }));
    return statuses.every((s) => s.leaderId !== null && s.leaderId === statuses[0]!.leaderId) ? true : undefined;
  }, { describe: () => supervisorOutput.slice(-3000) });
}, 360_000);

afterAll(async () => {
  if (supervisor !== undefined && supervisor.exitCode === null) {
    supervisor.kill('SIGINT');
    const deadline = setTimeout(() => supervisor.kill('SIGKILL'), STOP_DEADLINE_MS);
    await supervisorExit;
    clearTimeout(deadline);
  }
  if (dataDir !== undefined) await rm(dataDir, { recursive: true, force: true });
}, STOP_DEADLINE_MS + 5000);

describe('kvctl drill --existing, on the cluster npm start runs', () => {
  it('the control API lists the nodes and refuses what their state forbids', async () => {
    const cluster = await controlGet('/cluster');
    expect(cluster.status).toBe(200);
    expect(cluster.body.nodes).toEqual(nodeUrls().map((url, i) => ({ id: `n${i + 1}`, url, running: true, paused: false })));
    expect((await controlGet('/nodes/n9/output')).status).toBe(404);
    const restartRunning = await fetch(`${control()}/nodes/n1/restart`, { method: 'POST' });
    expect(restartRunning.status).toBe(409);
    expect(((await restartRunning.json()) as { message: string }).message).toContain('n1 is still running');
  });

  it('lagging-follower --existing: passes by forcing snapshots, leaves the cluster up and the user data in place', async () => {
    const user = new KvClient({ endpoints: nodeUrls() });
    await user.put('user/greeting', 'hello');

    const run = await runKvctlDrill(dist, ['lagging-follower', '--existing', '--control', control(), '--seconds', '1']);
    expectPass(run, expect);
    expect(run.report.cluster).toBe(`the running cluster (control API ${control()})`);
    expect(run.report.nodes).toBe(3);
    expect(check(run.report, 'caught up through InstallSnapshot').ok).toBe(true);
    expect(figure(run.report, 'snapshots installed by the follower')).toBeGreaterThanOrEqual(1);

    // Left as found: every node running, none paused; the user's key and data dirs are there.
    expect((await controlGet('/cluster')).body.nodes).toEqual(nodeUrls().map((url, i) => ({ id: `n${i + 1}`, url, running: true, paused: false })));
    expect((await user.get('user/greeting'))?.value).toBe('hello');
    for (const id of ['n1', 'n2', 'n3']) expect(existsSync(join(dataDir, id))).toBe(true);
  }, DRILL_DEADLINE_MS + 10_000);

  it('Ctrl-C stops the supervisor and every node with exit 0, keeping the data', async () => {
    supervisor.kill('SIGINT');
    expect(await supervisorExit).toBe(0);
    for (const url of nodeUrls()) await expect(fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) })).rejects.toThrow();
    for (const id of ['n1', 'n2', 'n3']) expect(existsSync(join(dataDir, id, 'wal'))).toBe(true);
  }, STOP_DEADLINE_MS + 5000);
});
