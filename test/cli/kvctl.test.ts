import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { run, type KvctlIo } from '../../src/cli/kvctl.js';
import { completeLine, HISTORY_LINES_MAX } from '../../src/cli/repl.js';
import { FakeCluster } from '../client/fake-cluster.js';

function capture() {
  let text = '';
  return {
    write: (chunk: string) => {
      text += chunk;
      return true;
    },
    get text() {
      return text;
    },
  };
}

/** Backoff and Retry-After advance a fake clock instead of waiting. */
function instantClock() {
  let nowMs = 0;
  return {
    now: () => nowMs,
    sleep: async (ms: number) => {
      nowMs += ms;
    },
  };
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function kvctl(argv: string[], io: Partial<KvctlIo> = {}): Promise<Result> {
  const stdout = capture();
  const stderr = capture();
  const code = await run(argv, { stdout, stderr, env: {}, historyFile: null, clientOptions: instantClock(), ...io });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

let cluster: FakeCluster;
let endpoints: string;
let scratch: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'kvctl-test-'));
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

async function startCluster(): Promise<void> {
  cluster = await FakeCluster.start(['n1', 'n2'], 'n1');
  endpoints = `${cluster.url('n2')},${cluster.url('n1')}`;
}
afterEach(async () => {
  await cluster?.close();
});

describe('kvctl one-shot commands', () => {
  it('puts, appends, gets and deletes, printing plain values', async () => {
    await startCluster();
    expect(await kvctl(['--endpoints', endpoints, 'put', 'color', 'blue'])).toEqual({ code: 0, stdout: 'OK\n', stderr: '' });
    expect(await kvctl(['--endpoints', endpoints, 'append', 'color', ',green'])).toEqual({ code: 0, stdout: 'blue,green\n', stderr: '' });
    expect(await kvctl(['--endpoints', endpoints, 'get', 'color'])).toEqual({ code: 0, stdout: 'blue,green\n', stderr: '' });
    expect(await kvctl(['-e', endpoints, 'get', 'color', '--stale'])).toMatchObject({ code: 0, stdout: 'blue,green\n' });
    expect(cluster.kvRequests().at(-1)?.rawPath).toBe('/kv/color?consistency=stale');
    expect(await kvctl(['--endpoints', endpoints, 'delete', 'color'])).toEqual({ code: 0, stdout: 'deleted\n', stderr: '' });
    expect(await kvctl(['--endpoints', endpoints, 'delete', 'color'])).toMatchObject({ code: 0, stdout: 'not found, nothing deleted\n' });
  });

  it('exits 1 for a missing key, saying so on stderr only', async () => {
    await startCluster();
    const result = await kvctl(['--endpoints', endpoints, 'get', 'no/such key']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('kvctl: key "no/such key" not found\n');
  });

  it('compares and swaps, exiting 1 when the comparison fails', async () => {
    await startCluster();
    expect(await kvctl(['-e', endpoints, 'cas', 'k', '--absent', 'v1'])).toMatchObject({ code: 0, stdout: 'OK\n' });
    expect(await kvctl(['-e', endpoints, 'cas', 'k', '--absent', 'v2'])).toMatchObject({ code: 1, stdout: 'FAILED: the current value is "v1"\n' });
    expect(await kvctl(['-e', endpoints, 'cas', 'k', 'v1', 'v2'])).toMatchObject({ code: 0, stdout: 'OK\n' });
    expect(await kvctl(['-e', endpoints, 'cas', 'gone', 'x', 'y'])).toMatchObject({ code: 1, stdout: 'FAILED: the key is absent\n' });
    expect(cluster.store.get('k')).toBe('v2');
  });

  it('lists keys as an aligned table, or as JSON', async () => {
    await startCluster();
    for (const [key, value] of [['user/1', 'ada'], ['user/22', 'grace\nhopper'], ['zed', 'z']]) {
      expect((await kvctl(['-e', endpoints, 'put', key!, value!])).code).toBe(0);
    }
    const table = await kvctl(['-e', endpoints, 'list', 'user/']);
    expect(table.code).toBe(0);
    expect(table.stdout).toBe(['KEY      VALUE', 'user/1   ada', 'user/22  "grace\\nhopper"', ''].join('\n'));
    const limited = await kvctl(['-e', endpoints, '--json', 'list', '--limit', '2']);
    expect(JSON.parse(limited.stdout)).toEqual({ items: [{ key: 'user/1', value: 'ada' }, { key: 'user/22', value: 'grace\nhopper' }], index: 3 });
    expect(await kvctl(['-e', endpoints, 'list', 'nothing/'])).toMatchObject({ code: 0, stdout: '(no keys)\n' });
  });

  it('prints every member in the status table, unreachable ones marked', async () => {
    await startCluster();
    cluster.unreachableMembers.push('n3');
    const result = await kvctl(['-e', endpoints, 'status']);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')).toEqual([
      'ID  ROLE      TERM  COMMIT  APPLIED  LEADER  REACHABLE',
      'n1  leader    3     0       0        n1      yes',
      'n2  follower  3     0       0        n1      yes',
      'n3  -         -     -       -        -       no (ECONNREFUSED)',
      '',
    ]);
    const json = JSON.parse((await kvctl(['-e', endpoints, 'status', '--json'])).stdout) as { members: { id: string; reachable: boolean }[] };
    expect(json.members.map((m) => [m.id, m.reachable])).toEqual([
      ['n1', true],
      ['n2', true],
      ['n3', false],
    ]);
  });

  it('names the leader, takes a snapshot and transfers leadership', async () => {
    await startCluster();
    expect(await kvctl(['-e', endpoints, 'leader'])).toEqual({ code: 0, stdout: `n1 ${cluster.url('n1')}\n`, stderr: '' });
    expect(await kvctl(['-e', endpoints, 'snapshot', 'n2'])).toMatchObject({ code: 0, stdout: 'snapshot at index 0, term 3, 42 bytes\n' });
    expect(cluster.log.filter((r) => r.rawPath === '/admin/snapshot').map((r) => r.node)).toEqual(['n2']);
    expect(await kvctl(['-e', endpoints, 'snapshot', 'n7'])).toMatchObject({ code: 2 });
    expect(await kvctl(['-e', endpoints, '--token', 't0k', 'transfer', 'n2'])).toMatchObject({ code: 0, stdout: 'leadership transferred: n1 -> n2\n' });
    expect(cluster.log.find((r) => r.rawPath === '/admin/transfer-leadership')?.authorization).toBe('Bearer t0k');
    expect(await kvctl(['-e', endpoints, 'leader'])).toMatchObject({ code: 0, stdout: `n2 ${cluster.url('n2')}\n` });
  });

  it('takes endpoints and token from the environment', async () => {
    await startCluster();
    const env = { KVCTL_ENDPOINTS: cluster.url('n1'), KVCTL_TOKEN: 'from-env' };
    expect(await kvctl(['put', 'k', 'v'], { env })).toMatchObject({ code: 0 });
    expect(await kvctl(['snapshot'], { env })).toMatchObject({ code: 0 });
    expect(cluster.log.map((r) => r.node)).toEqual(['n1', 'n1']);
    expect(cluster.log.at(-1)?.authorization).toBe('Bearer from-env');
  });

  it('stores a value that starts with a dash after --', async () => {
    await startCluster();
    expect(await kvctl(['-e', endpoints, 'put', 'n', '--', '-1'])).toMatchObject({ code: 0 });
    expect(cluster.store.get('n')).toBe('-1');
  });

  it('exits 3 on a server error and 4 when no endpoint answers', async () => {
    await startCluster();
    cluster.interceptOnce('n2', () => ({ status: 413, body: { error: 'too_large', message: 'value: 2000000 bytes, over the limit of 1048576' } }));
    const tooLarge = await kvctl(['-e', endpoints, 'put', 'k', 'v']);
    expect(tooLarge).toEqual({ code: 3, stdout: '', stderr: 'kvctl: too_large (HTTP 413): value: 2000000 bytes, over the limit of 1048576\n' });
    const dead = await FakeCluster.deadUrl();
    const unreachable = await kvctl(['-e', dead, '--timeout', '500', 'get', 'k']);
    expect(unreachable.code).toBe(4);
    expect(unreachable.stderr).toMatch(/^kvctl: unreachable \(no answer\): .*ECONNREFUSED\n$/);
  });

  it('exits 2 with one line naming the problem for every usage error, sending nothing', async () => {
    await startCluster();
    const cases: [string[], RegExp][] = [
      [['put', 'k'], /put: missing VALUE/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['list', '--limit', 'ten'], /--limit must be an integer/],
      [['put', 'k', 'v', '--stale'], /--stale applies only to get and list/],
      [['get', 'k', '--bogus'], /Unknown option '--bogus'/],
      [['cas', 'k', 'a', 'b', '--absent'], /cas: give EXPECTED or --absent, not both/],
      [['cas', 'k', 'a'], /cas: missing VALUE/],
      [['get', '..'], /cannot be addressed in a URL path/],
      [['get', ''], /key must not be empty/],
      [['status', 'extra'], /status: too many arguments/],
      [['--timeout', '0', 'get', 'k'], /--timeout must be an integer >= 1/],
    ];
    for (const [argv, problem] of cases) {
      const result = await kvctl(['-e', endpoints, ...argv]);
      expect({ argv, code: result.code }).toEqual({ argv, code: 2 });
      expect(result.stderr).toMatch(problem);
      expect(result.stderr).toMatch(/^kvctl: usage error: [^\n]+\n$/);
    }
    const badEndpoint = await kvctl(['--endpoints', 'localhost:7001', 'get', 'k']);
    expect(badEndpoint.code).toBe(2);
    expect(badEndpoint.stderr).toMatch(/^kvctl: usage error: --endpoints: endpoint "localhost:7001" must use http or https\n$/);
    expect(cluster.log).toEqual([]);
  });

  it('prints help with exit 0', async () => {
    const all = await kvctl(['--help']);
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('cas KEY EXPECTED|--absent VALUE');
    expect(all.stdout).toContain('exit codes: 0 ok');
    expect(await kvctl(['help', 'get'])).toMatchObject({ code: 0, stdout: expect.stringContaining('kvctl get KEY [--stale]') });
  });
});

describe('kvctl shell', () => {
  it('runs lines as commands with one client, prints errors without stopping, and saves history', async () => {
    await startCluster();
    const historyFile = join(scratch, 'history');
    writeFileSync(historyFile, 'status\n');
    const input = new PassThrough();
    const lines = [
      'put greeting "hello world"',
      'append greeting \'!\'',
      'get greeting',
      'get missing',
      'bogus',
      'put "with space/and slash" x',
      '--json get greeting',
      'help put',
      'exit',
      'put never sent',
    ];
    input.end(lines.map((l) => `${l}\n`).join(''));
    const result = await kvctl(['-e', endpoints], { stdin: input, historyFile });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      ['OK', 'hello world!', 'hello world!', 'OK', JSON.stringify({ key: 'greeting', value: 'hello world!', index: 3 }, null, 2), 'kvctl put KEY VALUE', '  set KEY to VALUE', ''].join('\n'),
    );
    expect(result.stderr.split('\n')).toEqual(['kvctl: key "missing" not found', 'kvctl: usage error: unknown command "bogus" (commands: put, append, get, delete, cas, list, status, leader, snapshot, transfer, drill, repl, help, exit)', '']);
    expect(cluster.store.get('with space/and slash')).toBe('x');
    expect(cluster.store.has('never')).toBe(false);
    // One session: one clientId, seq 1, 2, 3 across the lines.
    const writes = cluster.kvRequests().filter((r) => r.method !== 'GET');
    expect(writes.map((r) => r.body?.seq)).toEqual([1, 2, 3]);
    expect(new Set(writes.map((r) => r.body?.clientId)).size).toBe(1);
    expect(readFileSync(historyFile, 'utf8')).toBe(['status', ...lines.slice(0, 9), ''].join('\n'));
  });

  it('trims a history file longer than the limit when it starts', async () => {
    await startCluster();
    const historyFile = join(scratch, 'long-history');
    writeFileSync(historyFile, Array.from({ length: HISTORY_LINES_MAX + 50 }, (_, i) => `get k${i}`).join('\n') + '\n');
    const input = new PassThrough();
    input.end('');
    expect((await kvctl(['-e', endpoints, 'repl'], { stdin: input, historyFile })).code).toBe(0);
    const kept = readFileSync(historyFile, 'utf8').trimEnd().split('\n');
    expect(kept).toHaveLength(HISTORY_LINES_MAX);
    expect(kept[0]).toBe('get k50');
  });

  it('completes command names and the options of the command being typed', () => {
    expect(completeLine('ap')).toEqual([['append'], 'ap']);
    expect(completeLine('s')).toEqual([['status', 'snapshot'], 's']);
    expect(completeLine('get k --s')).toEqual([['--stale'], '--s']);
    expect(completeLine('list --')).toEqual([['--limit', '--stale', '--json'], '--']);
    expect(completeLine('help tr')).toEqual([['transfer'], 'tr']);
  });
});
