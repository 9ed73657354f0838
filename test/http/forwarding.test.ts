/**
 * SPEC 2: "A follower forwards a request to the leader and relays the answer." Two fake
 * nodes on loopback: n1 leads, n2 follows. Covers relaying of answers and errors, the loop
 * guard, an unreachable leader (503, nothing applied) and a leader that takes a write but
 * does not answer in time (504, outcome unknown).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { UnavailableError } from '../../src/consensus/kv-node.port.js';
import { FORWARDED_BY_HEADER } from '../../src/http/leader-forwarder.js';
import { call, startTestNode, type TestNode } from './helpers/test-node.js';

let leader: TestNode;
let follower: TestNode;

beforeAll(async () => {
  leader = await startTestNode('n1');
  // A short request timeout, so the forwarding deadline (timeout + 1 s) is quick to reach.
  follower = await startTestNode('n2', ['--request-timeout-ms', '300']);
});
afterAll(async () => {
  await follower.close();
  await leader.close();
});
beforeEach(() => {
  leader.node.role = 'leader';
  leader.node.leaderId = 'n1';
  follower.node.follow('n1');
  follower.node.urls.set('n1', leader.url);
  leader.node.urls.set('n2', follower.url);
});

const at = (node: TestNode, key: string, suffix = '') => `${node.url}/kv/${encodeURIComponent(key)}${suffix}`;

describe('forwarding to the leader', () => {
  it('relays a write: applied on the leader only, answered with the leader\'s body and headers', async () => {
    const r = await call(at(follower, 'fwd/put'), { method: 'PUT', body: { value: 'v1', clientId: 'c', seq: 1 } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ key: 'fwd/put', value: 'v1', index: expect.any(Number) });
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    expect(r.headers.get('x-raft-node')).toBe('n1');
    expect(leader.node.stateMachine.get('fwd/put')?.value).toBe('v1');
    expect(follower.node.stateMachine.get('fwd/put')).toBeNull();
    expect(leader.node.writes.at(-1)).toEqual({ op: 'put', key: 'fwd/put', value: 'v1', clientId: 'c', seq: 1 });
  });

  it('relays every write kind and a DELETE without a body', async () => {
    expect((await call(at(follower, 'k', '/append'), { method: 'POST', body: { value: 'a' } })).body.value).toBe('a');
    expect((await call(at(follower, 'k', '/cas'), { method: 'POST', body: { expected: 'a', value: 'b' } })).body.succeeded).toBe(true);
    const del = await call(at(follower, 'k'), { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ key: 'k', deleted: true });
    expect(leader.node.writes.at(-1)).toEqual({ op: 'delete', key: 'k' });
  });

  it('relays linearizable reads and listings; stale reads stay local', async () => {
    await call(at(leader, 'fwd/read'), { method: 'PUT', body: { value: 'on-leader' } });
    const barriers = leader.node.readBarriers;
    const read = await call(at(follower, 'fwd/read'));
    expect(read.status).toBe(200);
    expect(read.body.value).toBe('on-leader');
    expect(leader.node.readBarriers).toBe(barriers + 1);
    const list = await call(`${follower.url}/kv?prefix=fwd%2F&limit=10`);
    expect(list.body.items.map((i: { key: string }) => i.key)).toContain('fwd/read');
    const stale = await call(at(follower, 'fwd/read') + '?consistency=stale');
    expect(stale.status).toBe(404);
    expect(stale.headers.get('x-raft-node')).toBe('n2');
  });

  it('relays the leader\'s errors as they are: 404, 409, and 503 with its Retry-After', async () => {
    const missing = await call(at(follower, 'fwd/absent'));
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: 'not_found', message: 'key "fwd/absent" not found' });
    await call(at(follower, 'fwd/seq'), { method: 'PUT', body: { value: 'x', clientId: 'c-fwd', seq: 3 } });
    const stale = await call(at(follower, 'fwd/seq'), { method: 'PUT', body: { value: 'y', clientId: 'c-fwd', seq: 2 } });
    expect(stale.status).toBe(409);
    expect(stale.body.error).toBe('stale_sequence');
    leader.node.failNext = new UnavailableError('unavailable', 'no quorum', 3);
    const busy = await call(at(follower, 'fwd/x'), { method: 'PUT', body: { value: 'x' } });
    expect(busy.status).toBe(503);
    expect(busy.body).toEqual({ error: 'unavailable', message: 'no quorum' });
    expect(busy.headers.get('retry-after')).toBe('3');
  });

  it('validates on the follower before forwarding', async () => {
    const writes = leader.node.writes.length;
    const r = await call(at(follower, 'fwd/bad'), { method: 'PUT', body: { value: 1 } });
    expect(r.status).toBe(400);
    expect(r.headers.get('x-raft-node')).toBe('n2');
    expect(leader.node.writes.length).toBe(writes);
  });

  it('never forwards a forwarded request again (loop guard): 503 no_leader, nothing applied', async () => {
    const direct = await call(at(follower, 'loop'), { method: 'PUT', body: { value: 'x' }, headers: { [FORWARDED_BY_HEADER]: 'n9' } });
    expect(direct.status).toBe(503);
    expect(direct.body).toMatchObject({ error: 'no_leader', leaderId: 'n1' });
    expect(direct.headers.get('retry-after')).toBe('1');

    // Two nodes each believing the other leads: one hop, then 503, never a ping-pong.
    leader.node.follow('n2');
    const writes = leader.node.writes.length + follower.node.writes.length;
    const bounced = await call(at(follower, 'loop'), { method: 'PUT', body: { value: 'x' } });
    expect(bounced.status).toBe(503);
    expect(bounced.body).toMatchObject({ error: 'no_leader', leaderId: 'n2' });
    expect(bounced.body.message).toContain('forwarded here by n2');
    expect(leader.node.writes.length + follower.node.writes.length).toBe(writes);
  });

  it('503 no_leader when the leader cannot be reached or has no known URL; nothing applied', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    follower.node.urls.set('n1', `http://127.0.0.1:${deadPort}`);
    const refused = await call(at(follower, 'fwd/dead'), { method: 'PUT', body: { value: 'x' } });
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ error: 'no_leader', leaderId: 'n1' });
    expect(refused.body.message).toContain('ECONNREFUSED');
    expect(refused.headers.get('retry-after')).toBe('1');

    follower.node.urls.delete('n1');
    const unknown = await call(at(follower, 'fwd/dead'));
    expect(unknown.status).toBe(503);
    expect(unknown.body).toMatchObject({ error: 'no_leader', leaderId: 'n1' });
    expect(leader.node.stateMachine.get('fwd/dead')).toBeNull();
  });

  it('504 timeout when a forwarded write reached the leader but no answer came in time', async () => {
    let release = () => {};
    leader.node.writeGate = new Promise<void>((resolve) => (release = resolve));
    try {
      const started = Date.now();
      const r = await call(at(follower, 'fwd/slow'), { method: 'PUT', body: { value: 'x', clientId: 'c-slow', seq: 1 } });
      expect(r.status).toBe(504);
      expect(r.body).toMatchObject({ error: 'timeout', leaderId: 'n1' });
      expect(r.body.message).toContain('outcome is unknown');
      // The deadline is the follower's request timeout (300 ms) plus the 1 s margin.
      expect(Date.now() - started).toBeGreaterThanOrEqual(1300 - 50);
    } finally {
      leader.node.writeGate = null;
      release();
    }
  });

  it('504 when the leader drops the connection after receiving a write; 503 for a read', async () => {
    // A "leader" that accepts the request and closes the socket without answering.
    const rude: Server = createServer((req) => req.socket.destroy());
    await new Promise<void>((resolve) => rude.listen(0, '127.0.0.1', resolve));
    try {
      follower.node.urls.set('n1', `http://127.0.0.1:${(rude.address() as { port: number }).port}`);
      const write = await call(at(follower, 'fwd/rude'), { method: 'PUT', body: { value: 'x' } });
      expect(write.status).toBe(504);
      expect(write.body.error).toBe('timeout');
      const read = await call(at(follower, 'fwd/rude'));
      expect(read.status).toBe(503);
      expect(read.body.error).toBe('no_leader');
    } finally {
      await new Promise<void>((resolve) => rude.close(() => resolve()));
    }
  });
});
