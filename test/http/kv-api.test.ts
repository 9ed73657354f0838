/**
 * SPEC 2 on one node that leads: every route, its answer shape, validation (400 naming the
 * field), the node's own error outcomes mapped to their codes, and the X-Raft-* headers on
 * every answer, including errors and unknown routes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CommitTimeoutError, UnavailableError } from '../../src/consensus/kv-node.port.js';
import { call, startTestNode, type TestNode } from './helpers/test-node.js';

let n: TestNode;

beforeAll(async () => {
  n = await startTestNode('n1');
});
afterAll(async () => {
  await n.close();
});
beforeEach(() => {
  n.node.role = 'leader';
  n.node.leaderId = 'n1';
  n.node.term = 1;
});

const kv = (key: string, suffix = '') => `${n.url}/kv/${encodeURIComponent(key)}${suffix}`;

describe('client API routes (SPEC 2)', () => {
  it('PUT then GET returns the value at the write index, linearizable by default', async () => {
    const put = await call(kv('color'), { method: 'PUT', body: { value: 'blue' } });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ key: 'color', value: 'blue', index: expect.any(Number) });
    const barriersBefore = n.node.readBarriers;
    const get = await call(kv('color'));
    expect(get.status).toBe(200);
    expect(get.body).toEqual({ key: 'color', value: 'blue', index: put.body.index });
    expect(n.node.readBarriers).toBe(barriersBefore + 1);
  });

  it('consistency=stale reads locally without a read barrier', async () => {
    await call(kv('stale-key'), { method: 'PUT', body: { value: 'v' } });
    const barriersBefore = n.node.readBarriers;
    const get = await call(kv('stale-key') + '?consistency=stale');
    expect(get.body.value).toBe('v');
    expect(n.node.readBarriers).toBe(barriersBefore);
  });

  it('append answers the whole new value; an absent key counts as empty', async () => {
    const first = await call(kv('log', '/append'), { method: 'POST', body: { value: 'a' } });
    const second = await call(kv('log', '/append'), { method: 'POST', body: { value: 'b' } });
    expect(first.status).toBe(200);
    expect(first.body.value).toBe('a');
    expect(second.body).toEqual({ key: 'log', value: 'ab', index: first.body.index + 1 });
  });

  it('DELETE answers whether the key existed, with or without a body', async () => {
    await call(kv('gone'), { method: 'PUT', body: { value: 'x' } });
    const first = await call(kv('gone'), { method: 'DELETE' });
    const second = await call(kv('gone'), { method: 'DELETE', body: { clientId: 'c-del', seq: 1 } });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ key: 'gone', deleted: true });
    expect(second.body).toMatchObject({ key: 'gone', deleted: false });
    expect((await call(kv('gone'))).status).toBe(404);
  });

  it('cas swaps only on a match; expected null means create-if-absent', async () => {
    const create = await call(kv('lock', '/cas'), { method: 'POST', body: { expected: null, value: 'owner-1' } });
    expect(create.status).toBe(200);
    expect(create.body).toMatchObject({ key: 'lock', succeeded: true, value: 'owner-1' });
    const again = await call(kv('lock', '/cas'), { method: 'POST', body: { expected: null, value: 'owner-2' } });
    expect(again.body).toMatchObject({ succeeded: false, value: 'owner-1' });
    const swap = await call(kv('lock', '/cas'), { method: 'POST', body: { expected: 'owner-1', value: 'owner-3' } });
    expect(swap.body).toMatchObject({ succeeded: true, value: 'owner-3' });
    const absent = await call(kv('no-such-lock', '/cas'), { method: 'POST', body: { expected: 'x', value: 'y' } });
    expect(absent.body).toMatchObject({ succeeded: false, value: null });
  });

  it('lists by prefix in key order, bounded by limit', async () => {
    for (const k of ['user/2', 'user/10', 'user/1', 'usex', 'u']) await call(kv(k), { method: 'PUT', body: { value: `v-${k}` } });
    const all = await call(`${n.url}/kv?prefix=user%2F`);
    expect(all.status).toBe(200);
    expect(all.body.items).toEqual([
      { key: 'user/1', value: 'v-user/1' },
      { key: 'user/10', value: 'v-user/10' },
      { key: 'user/2', value: 'v-user/2' },
    ]);
    expect(all.body.index).toBe(n.node.stateMachine.appliedIndex);
    const two = await call(`${n.url}/kv?prefix=user%2F&limit=2`);
    expect(two.body.items.map((i: { key: string }) => i.key)).toEqual(['user/1', 'user/10']);
  });

  it('keys are percent-decoded: slashes, spaces and non-ASCII keys round-trip', async () => {
    for (const key of ['a/b', 'with space', 'ключ', '🔑', '%41']) {
      const put = await call(kv(key), { method: 'PUT', body: { value: key } });
      expect(put.body.key).toBe(key);
      expect((await call(kv(key))).body.value).toBe(key);
    }
    expect(n.node.stateMachine.get('a/b')?.value).toBe('a/b');
    expect(n.node.stateMachine.get('%41')?.value).toBe('%41');
  });

  it('exactly-once: a retry with the same clientId+seq gets the first answer without applying again', async () => {
    const first = await call(kv('counter', '/append'), { method: 'POST', body: { value: 'x', clientId: 'c1', seq: 7 } });
    const retry = await call(kv('counter', '/append'), { method: 'POST', body: { value: 'x', clientId: 'c1', seq: 7 } });
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(n.node.stateMachine.get('counter')?.value).toBe('x');
  });
});

describe('errors are SPEC 2 JSON with the right status', () => {
  it('404 not_found for an absent key', async () => {
    const r = await call(kv('never-written'));
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ error: 'not_found', message: 'key "never-written" not found' });
  });

  it('409 stale_sequence for a seq below the latest applied one; nothing applied', async () => {
    await call(kv('s'), { method: 'PUT', body: { value: 'new', clientId: 'c-stale', seq: 5 } });
    const r = await call(kv('s'), { method: 'PUT', body: { value: 'old', clientId: 'c-stale', seq: 4 } });
    expect(r.status).toBe(409);
    expect(r.body.error).toBe('stale_sequence');
    expect(r.body.message).toContain('c-stale');
    expect(n.node.stateMachine.get('s')?.value).toBe('new');
  });

  it('503 with Retry-After for UnavailableError; 504 timeout for CommitTimeoutError', async () => {
    n.node.failNext = new UnavailableError('unavailable', 'no quorum: 1 of 3 reachable', 2);
    const unavailable = await call(kv('x'), { method: 'PUT', body: { value: '1' } });
    expect(unavailable.status).toBe(503);
    expect(unavailable.body).toEqual({ error: 'unavailable', message: 'no quorum: 1 of 3 reachable' });
    expect(unavailable.headers.get('retry-after')).toBe('2');

    n.node.failNext = new CommitTimeoutError('not committed within 5000 ms');
    const timeout = await call(kv('x'), { method: 'PUT', body: { value: '1' } });
    expect(timeout.status).toBe(504);
    expect(timeout.body.error).toBe('timeout');
    expect(timeout.body.message).toBe('not committed within 5000 ms');
  });

  it('503 no_leader with Retry-After when no leader is known', async () => {
    n.node.follow(null);
    const write = await call(kv('x'), { method: 'PUT', body: { value: '1' } });
    expect(write.status).toBe(503);
    expect(write.body).toMatchObject({ error: 'no_leader', leaderId: null });
    expect(write.headers.get('retry-after')).toBe('1');
    const read = await call(kv('x'));
    expect(read.status).toBe(503);
    expect(read.body.error).toBe('no_leader');
    // Stale reads do not need a leader.
    expect((await call(kv('color') + '?consistency=stale')).status).toBe(200);
  });

  it('500 internal for an unexpected error, without leaking its text', async () => {
    n.node.failNext = new Error('secret internal detail');
    const r = await call(kv('x'), { method: 'PUT', body: { value: '1' } });
    expect(r.status).toBe(500);
    expect(r.body).toEqual({ error: 'internal', message: 'internal error' });
  });

  it.each([
    ['a missing value', { clientId: 'c', seq: 1 }, 'value'],
    ['a number value', { value: 5 }, 'value'],
    ['an unknown field', { value: 'v', vaule: 'v' }, 'vaule'],
    ['seq without clientId', { value: 'v', seq: 1 }, 'clientId'],
    ['clientId without seq', { value: 'v', clientId: 'c' }, 'seq'],
    ['a negative seq', { value: 'v', clientId: 'c', seq: -1 }, 'seq'],
    ['a fractional seq', { value: 'v', clientId: 'c', seq: 1.5 }, 'seq'],
    ['an unsafe seq', { value: 'v', clientId: 'c', seq: 2 ** 60 }, 'seq'],
    ['a string seq', { value: 'v', clientId: 'c', seq: '1' }, 'seq'],
    ['a null clientId', { value: 'v', clientId: null, seq: 1 }, 'clientId'],
    ['an empty clientId', { value: 'v', clientId: '', seq: 1 }, 'clientId'],
    ['a value with a lone surrogate', { value: '\ud800' }, 'value'],
  ])('400 bad_request naming the field for PUT with %s', async (_what, body, field) => {
    const writesBefore = n.node.writes.length;
    const r = await call(kv('v'), { method: 'PUT', body });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe('bad_request');
    expect(r.body.message).toMatch(new RegExp(`^${field}\\b`));
    expect(n.node.writes.length).toBe(writesBefore);
  });

  it('400 for cas without expected, with a non-string expected, and for a non-object body', async () => {
    const missing = await call(kv('c', '/cas'), { method: 'POST', body: { value: 'v' } });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toMatch(/^expected/);
    const numeric = await call(kv('c', '/cas'), { method: 'POST', body: { expected: 1, value: 'v' } });
    expect(numeric.body.message).toMatch(/^expected/);
    const array = await call(kv('c'), { method: 'PUT', body: ['v'] });
    expect(array.status).toBe(400);
    expect(array.body.message).toMatch(/^body/);
  });

  it('400 for bad query parameters: consistency, limit over listLimitMax, non-numeric limit', async () => {
    const consistency = await call(kv('color') + '?consistency=eventual');
    expect(consistency.status).toBe(400);
    expect(consistency.body.message).toMatch(/^consistency/);
    const over = await call(`${n.url}/kv?limit=${n.config.listLimitMax + 1}`);
    expect(over.status).toBe(400);
    expect(over.body.message).toMatch(/^limit/);
    const nan = await call(`${n.url}/kv?limit=ten`);
    expect(nan.status).toBe(400);
    expect(nan.body.message).toMatch(/^limit/);
  });

  it('400 for malformed JSON and malformed percent-encoding; the node keeps serving', async () => {
    const json = await call(kv('x'), { method: 'PUT', rawBody: '{"value": "unterminated' });
    expect(json.status).toBe(400);
    expect(json.body.error).toBe('bad_request');
    expect(json.body.message).toMatch(/^body: malformed JSON/);
    const path = await call(`${n.url}/kv/%E0%A4%A`);
    expect(path.status).toBe(400);
    expect(path.body.message).toMatch(/^path/);
    expect((await call(kv('color'))).status).toBe(200);
  });

  it('400 naming the key for a write to an empty key', async () => {
    for (const method of ['PUT', 'DELETE']) {
      const r = await call(`${n.url}/kv/`, { method, body: { value: 'v' } });
      expect({ method, status: r.status, body: r.body }).toEqual({ method, status: 400, body: { error: 'bad_request', message: 'key: must not be empty' } });
    }
  });

  it('404 JSON for unknown routes and for unknown methods on known paths', async () => {
    const route = await call(`${n.url}/no/such/route`);
    expect(route.status).toBe(404);
    expect(route.body).toEqual({ error: 'not_found', message: 'Cannot GET /no/such/route' });
    const method = await call(kv('color'), { method: 'PATCH', body: { value: 'v' } });
    expect(method.status).toBe(404);
    expect(method.body.error).toBe('not_found');
  });
});

describe('X-Raft-* headers (SPEC 2)', () => {
  it('are on successes, errors, unknown routes, body parse errors and the docs', async () => {
    n.node.term = 9;
    const answers = await Promise.all([
      call(kv('color')),
      call(kv('never-written')),
      call(`${n.url}/no/such/route`),
      call(kv('x'), { method: 'PUT', rawBody: '{' }),
      call(`${n.url}/docs-json`),
      call(`${n.url}/health`),
    ]);
    for (const r of answers) {
      // No per-answer hashing for an ETag, no framework advertisement.
      expect(r.headers.get('etag')).toBeNull();
      expect(r.headers.get('x-powered-by')).toBeNull();
      expect(r.headers.get('x-raft-node')).toBe('n1');
      expect(r.headers.get('x-raft-leader')).toBe('n1');
      expect(r.headers.get('x-raft-term')).toBe('9');
    }
  });

  it('report the leader and term when the answer is written, and an empty leader when none is known', async () => {
    n.node.follow(null);
    n.node.term = 12;
    const r = await call(kv('color') + '?consistency=stale');
    expect(r.headers.get('x-raft-leader')).toBe('');
    expect(r.headers.get('x-raft-term')).toBe('12');
    expect(r.headers.get('x-raft-node')).toBe('n1');
  });
});
