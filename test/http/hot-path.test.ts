/**
 * The client hot path (src/kv/kv-hot-path.ts) against SPEC 2 and against the Nest route it
 * stands in front of. Each request goes to two nodes with the same config and the same history:
 * `hot` (hot path installed, as in production) and `ref` (hot path uninstalled: express and Nest
 * only). The test asserts what SPEC 2 requires of the answer, that both nodes gave the same
 * status, body and headers, and which path served it (so a case cannot pass by never reaching
 * the hot path).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CommitTimeoutError, UnavailableError } from '../../src/consensus/kv-node.port.js';
import { jsonBodyBytesMax } from '../../src/http/http-surface.js';
import { KvHotPath } from '../../src/kv/kv-hot-path.js';
import { call, startTestNode, type TestNode } from './helpers/test-node.js';

// Small limits, so "over the limit" cases stay small.
const FLAGS = ['--value-bytes-max', '1000', '--key-bytes-max', '16'];
let hot: TestNode;
let ref: TestNode;

beforeAll(async () => {
  hot = await startTestNode('n1', FLAGS);
  ref = await startTestNode('n1', FLAGS);
  ref.app.get(KvHotPath).uninstall();
});
afterAll(async () => {
  await Promise.all([hot.close(), ref.close()]);
});
beforeEach(() => {
  for (const n of [hot, ref]) {
    n.node.role = 'leader';
    n.node.leaderId = 'n1';
    n.node.term = 3;
  }
});

type Init = Parameters<typeof call>[1];
type Answer = Awaited<ReturnType<typeof call>>;
/** Which path answered on `hot`: the hot path itself, or express after a hand-off. */
type Path = 'served' | 'handedOff';

const COMPARED_HEADERS = ['content-type', 'content-length', 'retry-after', 'x-raft-node', 'x-raft-leader', 'x-raft-term', 'etag', 'x-powered-by'];

function headersOf(r: Answer): Record<string, string | null> {
  return Object.fromEntries(COMPARED_HEADERS.map((h) => [h, r.headers.get(h)]));
}

/** Sends the same request to `ref` then `hot`; asserts identical answers and the path taken. */
async function both(path: string, init: Init, expectedPath: Path): Promise<Answer> {
  const r = await call(ref.url + path, init);
  const counters = hot.app.get(KvHotPath).counters;
  const before = { ...counters };
  const h = await call(hot.url + path, init);
  expect({ path, status: h.status, body: h.body, text: h.text, headers: headersOf(h) }).toEqual({
    path,
    status: r.status,
    body: r.body,
    text: r.text,
    headers: headersOf(r),
  });
  expect({ path, served: counters.served - before.served, handedOff: counters.handedOff - before.handedOff }).toEqual({
    path,
    served: expectedPath === 'served' ? 1 : 0,
    handedOff: expectedPath === 'handedOff' ? 1 : 0,
  });
  // Every answer carries the X-Raft-* headers (SPEC 2): this node's, or the leader's when relayed.
  expect(['n1', 'n9']).toContain(h.headers.get('x-raft-node'));
  expect(h.headers.get('x-raft-term')).toBe('3');
  return h;
}

const put = (body: unknown): Init => ({ method: 'PUT', body });
const post = (body: unknown): Init => ({ method: 'POST', body });

describe('valid requests: served by the hot path with SPEC 2 answers', () => {
  it('PUT, GET (linearizable and stale), append, cas and DELETE', async () => {
    const w = await both('/kv/color', put({ value: 'blue' }), 'served');
    expect(w.status).toBe(200);
    expect(w.body).toEqual({ key: 'color', value: 'blue', index: expect.any(Number) });
    expect(w.headers.get('content-type')).toBe('application/json; charset=utf-8');

    const barriers = hot.node.readBarriers;
    const read = await both('/kv/color', {}, 'served');
    expect(read.body).toEqual({ key: 'color', value: 'blue', index: w.body.index });
    expect(hot.node.readBarriers).toBe(barriers + 1);
    expect((await both('/kv/color?consistency=linearizable', {}, 'served')).body.value).toBe('blue');
    const stale = await both('/kv/color?consistency=stale', {}, 'served');
    expect(stale.body.value).toBe('blue');
    expect(hot.node.readBarriers).toBe(barriers + 2);

    const a1 = await both('/kv/log/append', post({ value: 'a' }), 'served');
    const a2 = await both('/kv/log/append', post({ value: 'b' }), 'served');
    expect(a1.body.value).toBe('a');
    expect(a2.body).toEqual({ key: 'log', value: 'ab', index: a1.body.index + 1 });

    const create = await both('/kv/lock/cas', post({ expected: null, value: 'o1' }), 'served');
    expect(create.body).toEqual({ key: 'lock', succeeded: true, value: 'o1', index: expect.any(Number) });
    const miss = await both('/kv/lock/cas', post({ expected: 'nope', value: 'o2' }), 'served');
    expect(miss.body).toMatchObject({ succeeded: false, value: 'o1' });
    const swap = await both('/kv/lock/cas', post({ expected: 'o1', value: 'o3', clientId: 'c-cas', seq: 1 }), 'served');
    expect(swap.body).toMatchObject({ succeeded: true, value: 'o3' });

    const del = await both('/kv/color', { method: 'DELETE' }, 'served');
    expect(del.body).toEqual({ key: 'color', deleted: true, index: expect.any(Number) });
    const delAgain = await both('/kv/color', { method: 'DELETE', body: { clientId: 'c-del', seq: 1 } }, 'served');
    expect(delAgain.body).toMatchObject({ key: 'color', deleted: false });
    const gone = await both('/kv/color', {}, 'served');
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ error: 'not_found', message: 'key "color" not found' });
  });

  it('percent-encoded keys are decoded as express decodes route parameters', async () => {
    for (const key of ['a/b', 'with space', 'ключ', '%41']) {
      const w = await both(`/kv/${encodeURIComponent(key)}`, put({ value: key }), 'served');
      expect(w.body.key).toBe(key);
      expect(hot.node.stateMachine.get(key)?.value).toBe(key);
    }
  });

  it('exactly-once: a retry gets the first answer; a seq below the latest is 409 stale_sequence', async () => {
    const first = await both('/kv/ctr/append', post({ value: 'x', clientId: 'c1', seq: 7 }), 'served');
    const retry = await both('/kv/ctr/append', post({ value: 'x', clientId: 'c1', seq: 7 }), 'served');
    expect(retry.body).toEqual(first.body);
    expect(hot.node.stateMachine.get('ctr')?.value).toBe('x');
    const stale = await both('/kv/ctr', put({ value: 'old', clientId: 'c1', seq: 6 }), 'served');
    expect(stale.status).toBe(409);
    expect(stale.body.error).toBe('stale_sequence');
    expect(stale.body.message).toContain('c1');
  });
});

describe('invalid requests: SPEC 2 errors, identical to the Nest route', () => {
  it.each([
    ['a missing value', { clientId: 'c', seq: 1 }, /^value/],
    ['a number value', { value: 5 }, /^value/],
    ['a string seq', { value: 'v', clientId: 'c', seq: '1' }, /^seq/],
    ['a negative seq', { value: 'v', clientId: 'c', seq: -1 }, /^seq/],
    ['a null clientId', { value: 'v', clientId: null, seq: 1 }, /^clientId/],
    ['an unknown field', { value: 'v', vaule: 'v' }, /^vaule: unknown field/],
    ['an object value', { value: { nested: true } }, /^value/],
    ['a fractional seq', { value: 'v', clientId: 'c', seq: 1.5 }, /^seq/],
    ['an unsafe seq', { value: 'v', clientId: 'c', seq: 2 ** 60 }, /^seq/],
  ])('PUT with %s: 400 from the validation pipe, handed off with the parsed body', async (_what, body, message) => {
    const writes = hot.node.writes.length;
    const r = await both('/kv/v', put(body), 'handedOff');
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('bad_request');
    expect(r.body.message).toMatch(message);
    expect(hot.node.writes.length).toBe(writes);
  });

  it.each([
    ['seq without clientId', { value: 'v', seq: 1 }, /^clientId/],
    ['clientId without seq', { value: 'v', clientId: 'c' }, /^seq/],
    ['an empty clientId', { value: 'v', clientId: '', seq: 1 }, /^clientId/],
    ['a value with a lone surrogate', { value: '\ud800' }, /^value/],
  ])('PUT with %s: 400 from command-validation, served', async (_what, body, message) => {
    const writes = hot.node.writes.length;
    const r = await both('/kv/v', put(body), 'served');
    expect(hot.node.writes.length).toBe(writes);
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(message);
  });

  it('cas without expected or with a non-string expected: 400 naming expected', async () => {
    expect((await both('/kv/c/cas', post({ value: 'v' }), 'handedOff')).body.message).toMatch(/^expected/);
    expect((await both('/kv/c/cas', post({ expected: 1, value: 'v' }), 'handedOff')).body.message).toMatch(/^expected/);
  });

  it('malformed JSON: 400 body: malformed JSON with the parser message, served', async () => {
    const r = await both('/kv/x', { method: 'PUT', rawBody: '{"value": "unterminated' }, 'served');
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('bad_request');
    expect(r.body.message).toMatch(/^body: malformed JSON \(/);
  });

  it('bodies that are not a JSON object go to express unread: arrays, scalars, leading whitespace', async () => {
    const array = await both('/kv/x', { method: 'PUT', rawBody: '["v"]' }, 'handedOff');
    expect(array.status).toBe(400);
    expect(array.body.message).toMatch(/^body/);
    expect((await both('/kv/x', { method: 'PUT', rawBody: '"v"' }, 'handedOff')).status).toBe(400);
    const spaced = await both('/kv/spaced', { method: 'PUT', rawBody: ' \n{"value": "ok"}' }, 'handedOff');
    expect(spaced.status).toBe(200);
    expect(spaced.body).toMatchObject({ key: 'spaced', value: 'ok' });
  });

  it('other content types and empty bodies go to express', async () => {
    const text = await both('/kv/x', { method: 'PUT', rawBody: '{"value":"v"}', headers: { 'content-type': 'text/plain' } }, 'handedOff');
    expect(text.status).toBe(400);
    const empty = await both('/kv/x', { method: 'PUT', rawBody: '' }, 'handedOff');
    expect(empty.status).toBe(400);
    expect(empty.body.message).toMatch(/^value/);
  });

  it('413 too_large: a value or expected over valueBytesMax (served), a body over the parser limit (express)', async () => {
    const value = await both('/kv/big', put({ value: 'v'.repeat(1001) }), 'served');
    expect(value.status).toBe(413);
    expect(value.body).toEqual({ error: 'too_large', message: 'value: 1001 bytes, over the limit of 1000' });
    const expected = await both('/kv/big/cas', post({ expected: 'e'.repeat(1001), value: 'v' }), 'served');
    expect(expected.body.message).toMatch(/^expected/);
    const limit = jsonBodyBytesMax(hot.config);
    const huge = await both('/kv/huge', { method: 'PUT', rawBody: JSON.stringify({ value: 'x'.repeat(limit) }) }, 'handedOff');
    expect(huge.status).toBe(413);
    expect(huge.body.message).toMatch(/^body: \d+ bytes, over the limit of \d+ bytes/);
  });

  it('bad keys: over keyBytesMax is 413 (served); bad percent-encoding is 400 (express)', async () => {
    const long = await both(`/kv/${'k'.repeat(17)}`, put({ value: 'v' }), 'served');
    expect(long.status).toBe(413);
    expect(long.body.message).toMatch(/^key/);
    expect((await both(`/kv/${'k'.repeat(17)}`, {}, 'served')).status).toBe(413);
    const malformed = await both('/kv/%E0%A4%A', put({ value: 'v' }), 'handedOff');
    expect(malformed.status).toBe(400);
    expect(malformed.body.message).toMatch(/^path/);
    expect((await both('/kv/%ED%A0%80', {}, 'handedOff')).status).toBe(400);
  });

  it('query strings other than consistency=linearizable|stale, and unknown routes, go to express', async () => {
    const bad = await both('/kv/color?consistency=eventual', {}, 'handedOff');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^consistency/);
    expect((await both('/kv/color?foo=1', {}, 'handedOff')).status).toBe(400);
    expect((await both('/kv/color', { method: 'PATCH', body: { value: 'v' } }, 'handedOff')).status).toBe(404);
    expect((await both('/kv/color/append', put({ value: 'v' }), 'handedOff')).status).toBe(404);
    const empty = await both('/kv/', put({ value: 'v' }), 'handedOff');
    expect(empty.body).toEqual({ error: 'bad_request', message: 'key: must not be empty' });
  });

  it('the node\'s outcomes: 503 with Retry-After, 504 timeout, 500 internal without its text', async () => {
    for (const n of [hot, ref]) n.node.failNext = new UnavailableError('unavailable', 'no quorum: 1 of 3 reachable', 2);
    const unavailable = await both('/kv/x', put({ value: '1' }), 'served');
    expect(unavailable.status).toBe(503);
    expect(unavailable.body).toEqual({ error: 'unavailable', message: 'no quorum: 1 of 3 reachable' });
    expect(unavailable.headers.get('retry-after')).toBe('2');
    for (const n of [hot, ref]) n.node.failNext = new CommitTimeoutError('not committed within 5000 ms');
    const timeout = await both('/kv/x', put({ value: '1' }), 'served');
    expect(timeout.status).toBe(504);
    expect(timeout.body).toEqual({ error: 'timeout', message: 'not committed within 5000 ms' });
    for (const n of [hot, ref]) n.node.failNext = new Error('secret detail');
    const internal = await both('/kv/x', put({ value: '1' }), 'served');
    expect(internal.status).toBe(500);
    expect(internal.body).toEqual({ error: 'internal', message: 'internal error' });
  });

  it('no leader known: 503 no_leader, leaderId null, Retry-After 1; stale reads still answer', async () => {
    for (const n of [hot, ref]) n.node.follow(null);
    const write = await both('/kv/x', put({ value: '1' }), 'served');
    expect(write.status).toBe(503);
    expect(write.body).toMatchObject({ error: 'no_leader', leaderId: null });
    expect(write.headers.get('retry-after')).toBe('1');
    expect(write.headers.get('x-raft-leader')).toBe('');
    expect((await both('/kv/log?consistency=stale', {}, 'served')).status).toBe(200);
  });

  it('request latency is labelled by route pattern, as express labels it', async () => {
    const metrics = await call(`${hot.url}/metrics`);
    expect(metrics.text).toMatch(/http_request_duration_seconds_count\{route="\/kv\/:key",method="PUT",status="200"\} [1-9]/);
    expect(metrics.text).toMatch(/http_request_duration_seconds_count\{route="\/kv\/:key\/cas",method="POST",status="200"\} [1-9]/);
    expect(metrics.text).toMatch(/http_request_duration_seconds_count\{route="unmatched",method="PUT",status="400"\} [1-9]/);
  });
});

describe('forwarding from a follower through the hot path (SPEC 2)', () => {
  let leader: TestNode;
  beforeAll(async () => {
    leader = await startTestNode('n9', FLAGS);
  });
  afterAll(async () => {
    await leader.close();
  });
  beforeEach(() => {
    leader.node.term = 3;
    for (const n of [hot, ref]) {
      n.node.follow('n9');
      n.node.urls.set('n9', leader.url);
    }
  });

  it('relays writes and linearizable reads with the leader\'s answer and headers; stale reads stay local', async () => {
    const w = await call(`${hot.url}/kv/fwd`, put({ value: 'v', clientId: 'c-fwd', seq: 1 }));
    expect(w.status).toBe(200);
    expect(w.body).toEqual({ key: 'fwd', value: 'v', index: expect.any(Number) });
    expect(w.headers.get('x-raft-node')).toBe('n9');
    expect(leader.node.writes.at(-1)).toEqual({ op: 'put', key: 'fwd', value: 'v', clientId: 'c-fwd', seq: 1 });
    expect(hot.node.stateMachine.get('fwd')).toBeNull();
    const del = await call(`${hot.url}/kv/fwd`, { method: 'DELETE' });
    expect(del.body).toMatchObject({ key: 'fwd', deleted: true });
    expect(leader.node.writes.at(-1)).toEqual({ op: 'delete', key: 'fwd' });

    await call(`${leader.url}/kv/shared`, put({ value: 'on-leader' }));
    const read = await both('/kv/shared', {}, 'served');
    expect(read.body.value).toBe('on-leader');
    expect(read.headers.get('x-raft-node')).toBe('n9');
    const stale = await call(`${hot.url}/kv/shared?consistency=stale`);
    expect(stale.status).toBe(404);
    expect(stale.headers.get('x-raft-node')).toBe('n1');
  });

  it('a forwarded copy is not forwarded again: 503 no_leader naming the leader', async () => {
    const r = await both('/kv/loop', { method: 'PUT', body: { value: 'x' }, headers: { 'x-raft-forwarded-by': 'n7' } }, 'served');
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({ error: 'no_leader', leaderId: 'n9' });
    expect(r.body.message).toContain('forwarded here by n7');
    expect(r.headers.get('retry-after')).toBe('1');
  });
});
