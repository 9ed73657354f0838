import { afterEach, describe, expect, it } from '@jest/globals';
import { KvClient, type KvClientOptions } from '../../src/client/kv-client.js';
import { KvError } from '../../src/client/kv-error.js';
import { FakeCluster } from './fake-cluster.js';

/** A clock that moves only when the client sleeps, so backoff and Retry-After are observed, not waited. */
function fakeTime() {
  let nowMs = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    // Each reading moves a fraction of a ms, like performance.now(): timeouts derived from it must still be whole ms.
    now: () => (nowMs += 0.1),
    sleep: async (ms: number) => {
      sleeps.push(ms);
      nowMs += ms;
    },
    random: () => 0.5,
  };
}

let cluster: FakeCluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

function client(endpoints: string[], time = fakeTime(), extra: Partial<KvClientOptions> = {}): KvClient {
  return new KvClient({ endpoints, clientId: 'c-test', requestTimeoutMs: 2000, retryBudgetMs: 5000, ...time, ...extra });
}

async function rejection(promise: Promise<unknown>): Promise<KvError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof KvError) return error;
    throw error;
  }
  throw new Error('expected a KvError, got an answer');
}

describe('KvClient against a fake cluster', () => {
  it('does every call of SPEC 2 and returns its typed answer', async () => {
    cluster = await FakeCluster.start(['n1'], 'n1');
    const kv = client([cluster.url('n1')]);
    await expect(kv.put('color', 'blue')).resolves.toEqual({ key: 'color', value: 'blue', index: 1 });
    await expect(kv.append('color', ',green')).resolves.toEqual({ key: 'color', value: 'blue,green', index: 2 });
    await expect(kv.get('color')).resolves.toEqual({ key: 'color', value: 'blue,green', index: 2 });
    await expect(kv.cas('color', 'red', 'x')).resolves.toEqual({ key: 'color', succeeded: false, value: 'blue,green', index: 3 });
    await expect(kv.cas('color', 'blue,green', 'teal')).resolves.toMatchObject({ succeeded: true, value: 'teal' });
    await expect(kv.cas('shape', null, 'round')).resolves.toMatchObject({ succeeded: true, value: 'round' });
    await expect(kv.list('', 10)).resolves.toEqual({ items: [{ key: 'color', value: 'teal' }, { key: 'shape', value: 'round' }], index: 5 });
    await expect(kv.list('sh')).resolves.toMatchObject({ items: [{ key: 'shape', value: 'round' }] });
    await expect(kv.delete('color')).resolves.toEqual({ key: 'color', deleted: true, index: 6 });
    await expect(kv.delete('color')).resolves.toMatchObject({ deleted: false });
    await expect(kv.get('color')).resolves.toBeNull();
  });

  it('sends the stale consistency and list parameters in the query', async () => {
    cluster = await FakeCluster.start(['n1'], 'n1');
    const kv = client([cluster.url('n1')]);
    await kv.get('k', { consistency: 'stale' });
    await kv.list('a b', 5, { consistency: 'stale' });
    expect(cluster.kvRequests().map((r) => r.rawPath)).toEqual(['/kv/k?consistency=stale', '/kv?prefix=a+b&limit=5&consistency=stale']);
  });

  it('numbers writes 1, 2, 3 under one clientId and sends them one at a time even when called at once', async () => {
    cluster = await FakeCluster.start(['n1'], 'n1');
    const kv = client([cluster.url('n1')]);
    const letters = ['a', 'b', 'c', 'd', 'e'];
    await Promise.all(letters.map((letter) => kv.append('log', letter)));
    const writes = cluster.kvRequests().filter((r) => r.method !== 'GET');
    expect(writes.map((r) => r.body?.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(writes.map((r) => r.body?.clientId))).toEqual(new Set(['c-test']));
    expect(cluster.maxWritesInFlight).toBe(1);
    expect(cluster.store.get('log')).toBe('abcde');
    expect(kv.lastSeq).toBe(5);
  });

  it('retries a write answered 504 with the same clientId+seq and gets the first answer, applied once', async () => {
    cluster = await FakeCluster.start(['n1'], 'n1');
    cluster.interceptOnce('n1', async (request, fake) => {
      await fake.serve(request); // committed after all, but the answer is lost in a timeout
      return { status: 504, body: { error: 'timeout', message: 'not committed in time' } };
    });
    const time = fakeTime();
    const kv = client([cluster.url('n1')], time);
    const answer = await kv.append('k', 'x');
    expect(answer).toEqual({ key: 'k', value: 'x', index: 1 });
    const attempts = cluster.kvRequests();
    expect(attempts).toHaveLength(2);
    expect(attempts[1]!.body).toEqual(attempts[0]!.body);
    expect(attempts[0]!.body).toMatchObject({ clientId: 'c-test', seq: 1 });
    expect(cluster.applications).toBe(1);
    expect(time.sleeps).toHaveLength(1);
    // The next write takes the next seq.
    await kv.put('k', 'y');
    expect(cluster.kvRequests()[2]!.body).toMatchObject({ seq: 2 });
  });

  it('honours Retry-After on 503 before retrying', async () => {
    cluster = await FakeCluster.start(['n1'], 'n1');
    cluster.retryAfterSeconds = 2;
    cluster.interceptOnce('n1', (_request, fake) => fake.noLeader());
    const time = fakeTime();
    const kv = client([cluster.url('n1')], time);
    await expect(kv.put('k', 'v')).resolves.toMatchObject({ value: 'v' });
    expect(time.sleeps).toHaveLength(1);
    expect(time.sleeps[0]).toBeGreaterThanOrEqual(2000);
    expect(cluster.kvRequests().map((r) => r.body?.seq)).toEqual([1, 1]);
  });

  it('gives up with the 503 when Retry-After would pass the retry budget', async () => {
    cluster = await FakeCluster.start(['n1'], 'n1', { n1: 'no-leader' });
    cluster.retryAfterSeconds = 10;
    const time = fakeTime();
    const kv = client([cluster.url('n1')], time, { retryBudgetMs: 5000 });
    const error = await rejection(kv.put('k', 'v'));
    expect(error).toMatchObject({ status: 503, error: 'no_leader', attempts: 1, outcomeUnknown: false });
    expect(time.sleeps).toEqual([]);
  });

  it('rotates past a dead endpoint at once, without backing off', async () => {
    cluster = await FakeCluster.start(['n1'], 'n1');
    const dead = await FakeCluster.deadUrl();
    const time = fakeTime();
    const kv = client([dead, cluster.url('n1')], time);
    await expect(kv.put('k', 'v')).resolves.toMatchObject({ value: 'v' });
    expect(time.sleeps).toEqual([]);
    expect(cluster.kvRequests()).toHaveLength(1);
  });

  it('raises an unreachable KvError when every endpoint is dead, within the retry budget', async () => {
    const deads = [await FakeCluster.deadUrl(), await FakeCluster.deadUrl()];
    const time = fakeTime();
    const kv = client(deads, time, { retryBudgetMs: 1000 });
    const error = await rejection(kv.get('k'));
    expect(error.status).toBe(0);
    expect(error.error).toBe('unreachable');
    expect(error.unreachable).toBe(true);
    expect(error.message).toContain('ECONNREFUSED');
    expect(error.attempts).toBeGreaterThan(deads.length);
    const sleptMs = time.sleeps.reduce((a, b) => a + b, 0);
    expect(sleptMs).toBeLessThan(1000);
    // A refused connection never carried the request: a write there is known not applied.
    const writeError = await rejection(kv.put('k', 'v'));
    expect(writeError.outcomeUnknown).toBe(false);
  });

  it('reports a write as outcome-unknown when every attempt timed out on the server', async () => {
    cluster = await FakeCluster.start(['n1'], 'n1');
    const timeout = () => ({ status: 504, body: { error: 'timeout', message: 'not committed in time' } });
    for (let i = 0; i < 50; i++) cluster.interceptOnce('n1', timeout);
    const kv = client([cluster.url('n1')], fakeTime(), { retryBudgetMs: 2000 });
    const error = await rejection(kv.delete('k'));
    expect(error).toMatchObject({ status: 504, error: 'timeout', outcomeUnknown: true });
    const seqs = new Set(cluster.kvRequests().map((r) => r.body?.seq));
    expect(seqs).toEqual(new Set([1]));
    expect(error.attempts).toBe(cluster.kvRequests().length);
  });

  it('raises 4xx answers as final typed errors, including 409 stale_sequence', async () => {
    cluster = await FakeCluster.start(['n1'], 'n1');
    cluster.interceptOnce('n1', () => ({ status: 409, body: { error: 'stale_sequence', message: 'seq 1 is below 7' } }));
    cluster.interceptOnce('n1', () => ({ status: 413, body: { error: 'too_large', message: 'value: 2000000 bytes, over the limit' } }));
    cluster.interceptOnce('n1', () => ({ status: 400, body: { error: 'bad_request', message: 'value: must be a string' } }));
    const kv = client([cluster.url('n1')]);
    const stale = await rejection(kv.put('k', 'v'));
    expect(stale).toBeInstanceOf(KvError);
    expect(stale).toMatchObject({ status: 409, error: 'stale_sequence', message: 'seq 1 is below 7', attempts: 1 });
    await expect(kv.put('k', 'v')).rejects.toMatchObject({ status: 413, error: 'too_large' });
    await expect(kv.get('k')).rejects.toMatchObject({ status: 400, error: 'bad_request', message: 'value: must be a string' });
    expect(cluster.kvRequests()).toHaveLength(3);
  });

  it('turns a non-JSON error answer into a KvError naming the status', async () => {
    cluster = await FakeCluster.start(['n1'], 'n1');
    cluster.interceptOnce('n1', () => ({ status: 500, body: 'boom' }));
    const kv = client([cluster.url('n1')]);
    await expect(kv.get('k')).rejects.toMatchObject({ status: 500 });
  });

  it('refuses a 2xx answer that is not JSON instead of returning garbage', async () => {
    cluster = await FakeCluster.start(['n1'], 'n1');
    cluster.interceptOnce('n1', () => ({ status: 200 }));
    cluster.interceptOnce('n1', () => ({ status: 200 }));
    const kv = client([cluster.url('n1')]);
    await expect(kv.get('k')).rejects.toMatchObject({ status: 200, error: 'bad_response', outcomeUnknown: false });
    await expect(kv.put('k', 'v')).rejects.toMatchObject({ status: 200, error: 'bad_response', outcomeUnknown: true });
  });

  it('percent-encodes keys with slashes, spaces, percent signs and unicode', async () => {
    cluster = await FakeCluster.start(['n1'], 'n1');
    const kv = client([cluster.url('n1')]);
    await kv.put('a/b c', '1');
    await kv.put('ü☃', '2');
    await kv.put('100%?#&=', '3');
    expect(cluster.kvRequests().map((r) => r.rawPath)).toEqual(['/kv/a%2Fb%20c', '/kv/%C3%BC%E2%98%83', '/kv/100%25%3F%23%26%3D']);
    const odd = ['../etc/passwd', 'x/../y', '日本語 キー', 'emoji 🎉/😀', 'tab\there', '+plus+'];
    for (const key of odd) await kv.put(key, `v:${key}`);
    for (const key of ['a/b c', 'ü☃', '100%?#&=', ...odd]) {
      expect((await kv.get(key))?.key).toBe(key);
    }
    expect(cluster.store.get('emoji 🎉/😀')).toBe('v:emoji 🎉/😀');
  });

  it('refuses keys that cannot be sent, before any request', async () => {
    cluster = await FakeCluster.start(['n1'], 'n1');
    const kv = client([cluster.url('n1')]);
    for (const key of ['', '.', '..', 'x'.repeat(1025), '\uD800']) {
      await expect(kv.put(key, 'v')).rejects.toMatchObject({ status: 400, error: 'bad_request', attempts: 0 });
    }
    await expect(kv.put('ok', '\uDC00')).rejects.toMatchObject({ status: 400, error: 'bad_request' });
    expect(cluster.log).toHaveLength(0);
    expect(kv.lastSeq).toBe(0);
  });

  it('learns the leader from X-Raft-Leader and sends later requests straight to it', async () => {
    cluster = await FakeCluster.start(['n1', 'n2', 'n3'], 'n1');
    // n2 is asked first; it relays to the leader n1.
    const kv = client([cluster.url('n2'), cluster.url('n3'), cluster.url('n1')]);
    await kv.put('a', '1');
    expect(kv.knownLeaderId).toBe('n1');
    await kv.put('b', '2');
    await kv.get('a');
    expect(cluster.kvRequests().map((r) => r.node)).toEqual(['n2', 'n1', 'n1']);
    // Discovery asked each endpoint once who it is, and not again.
    expect(cluster.log.filter((r) => r.rawPath === '/admin/status')).toHaveLength(3);
    expect(kv.endpointOf('n3')).toBe(cluster.url('n3'));
  });

  it('backs off and rotates away from a leaderless node, keeping the seq', async () => {
    cluster = await FakeCluster.start(['n1', 'n2', 'n3'], 'n1', { n2: 'no-leader' });
    cluster.retryAfterSeconds = 0;
    const time = fakeTime();
    const kv = client([cluster.url('n2'), cluster.url('n3')], time);
    await expect(kv.put('k', 'v')).resolves.toMatchObject({ value: 'v' });
    expect(cluster.kvRequests().map((r) => [r.node, r.body?.seq])).toEqual([
      ['n2', 1],
      ['n3', 1],
    ]);
    expect(time.sleeps).toHaveLength(1);
  });

  it('returns cluster, status and leader views and sends the token on admin calls', async () => {
    cluster = await FakeCluster.start(['n1', 'n2'], 'n1');
    cluster.unreachableMembers.push('n3');
    const kv = client([cluster.url('n2'), cluster.url('n1')], fakeTime(), { token: 's3cret' });
    const view = await kv.cluster();
    expect(view.leaderId).toBe('n1');
    expect(view.members.map((m) => [m.id, m.reachable])).toEqual([
      ['n1', true],
      ['n2', true],
      ['n3', false],
    ]);
    await expect(kv.status(cluster.url('n1'))).resolves.toMatchObject({ id: 'n1', role: 'leader' });
    await expect(kv.leader()).resolves.toEqual({ leaderId: 'n1', term: 3, endpoint: cluster.url('n1') });
    await expect(kv.snapshot()).resolves.toEqual({ index: 0, term: 3, bytes: 42 });
    await expect(kv.transferLeadership('n2')).resolves.toEqual({ from: 'n1', to: 'n2' });
    const transfer = cluster.log.find((r) => r.rawPath === '/admin/transfer-leadership');
    expect(transfer).toMatchObject({ node: 'n1', authorization: 'Bearer s3cret', body: { to: 'n2' } });
  });

  it('refuses writes past the pending limit instead of queueing without bound', async () => {
    cluster = await FakeCluster.start(['n1'], 'n1');
    const kv = client([cluster.url('n1')], fakeTime(), { pendingWritesMax: 2 });
    const first = kv.put('a', '1');
    const second = kv.put('b', '2');
    await expect(kv.put('c', '3')).rejects.toMatchObject({ status: 0, error: 'client_busy' });
    await expect(Promise.all([first, second])).resolves.toHaveLength(2);
    await expect(kv.put('d', '4')).resolves.toMatchObject({ value: '4' });
  });

  it('checks its options', () => {
    expect(() => new KvClient({ endpoints: [] })).toThrow(/at least one endpoint/);
    expect(() => new KvClient({ endpoints: ['ftp://x'] })).toThrow(/http or https/);
    expect(() => new KvClient({ endpoints: ['http://x'], requestTimeoutMs: 0 })).toThrow(/requestTimeoutMs/);
    expect(new KvClient({ endpoints: ['http://x/'] }).endpoints).toEqual(['http://x']);
    expect(new KvClient({ endpoints: ['http://x'] }).clientId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
