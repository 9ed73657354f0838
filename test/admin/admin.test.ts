/**
 * SPEC 3's admin API and the cluster-token guard: status, cluster view with an unreachable
 * and a hanging member, snapshot, leadership transfer (forwarded from a follower), health and
 * readiness, and 401 JSON on protected routes without the right bearer token.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { Controller, Get, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigModule } from '../../src/config/config.module.js';
import { parseRaftConfig } from '../../src/config/parse-args.js';
import { bearerTokenMatches, ClusterTokenGuard } from '../../src/http/cluster-token.guard.js';
import { MEMBER_STATUS_TIMEOUT_MS } from '../../src/admin/cluster-status.service.js';
import { call, startTestNode, type TestNode } from '../http/helpers/test-node.js';

const TOKEN = 's3cret-token';
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

/** A port that refuses connections: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

describe('admin API without a cluster token', () => {
  let n1: TestNode;
  let n2: TestNode;
  let hanging: Server;

  beforeAll(async () => {
    // n4 accepts connections and never answers: /admin/cluster must not wait on it for long.
    hanging = createServer(() => {});
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const hangingPort = (hanging.address() as { port: number }).port;
    const dead = await closedPort();
    n2 = await startTestNode('n2', [], 'n1=http://127.0.0.1:1');
    n1 = await startTestNode('n1', [], `n2=${n2.url},n3=http://127.0.0.1:${dead},n4=http://127.0.0.1:${hangingPort}`);
    n1.node.urls.set('n2', n2.url);
    n2.node.follow('n1');
    n2.node.urls.set('n1', n1.url);
  });
  afterAll(async () => {
    hanging.closeAllConnections();
    await new Promise<void>((resolve) => hanging.close(() => resolve()));
    await n1.close();
    await n2.close();
  });

  it('GET /admin/status is this node\'s status', async () => {
    await call(`${n1.url}/kv/a`, { method: 'PUT', body: { value: 'b' } });
    const r = await call(`${n1.url}/admin/status`);
    expect(r.status).toBe(200);
    expect(r.body).toEqual(n1.node.status());
    expect(r.body).toMatchObject({ id: 'n1', role: 'leader', keys: 1 });
  });

  it('GET /admin/cluster: every member, unreachable and silent ones marked, within the member timeout', async () => {
    const started = Date.now();
    const r = await call(`${n1.url}/admin/cluster`);
    const tookMs = Date.now() - started;
    expect(r.status).toBe(200);
    expect(r.body.nodeId).toBe('n1');
    expect(r.body.leaderId).toBe('n1');
    const byId = Object.fromEntries(r.body.members.map((m: { id: string }) => [m.id, m]));
    expect(Object.keys(byId).sort()).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(byId.n1).toMatchObject({ self: true, reachable: true, role: 'leader', url: n1.url });
    expect(byId.n2).toMatchObject({ self: false, reachable: true, role: 'follower', leaderId: 'n1', url: n2.url });
    expect(byId.n3).toMatchObject({ reachable: false, error: 'ECONNREFUSED' });
    expect(byId.n4).toMatchObject({ reachable: false, error: `no answer within ${MEMBER_STATUS_TIMEOUT_MS} ms` });
    expect(tookMs).toBeLessThan(MEMBER_STATUS_TIMEOUT_MS + 3000);
  });

  it('POST /admin/snapshot answers {index, term, bytes}', async () => {
    const r = await call(`${n1.url}/admin/snapshot`, { method: 'POST' });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ index: n1.node.stateMachine.appliedIndex, term: 1, bytes: expect.any(Number) });
    expect(r.body.bytes).toBeGreaterThan(0);
    expect(n1.node.snapshots).toBe(1);
  });

  it('POST /admin/transfer-leadership on the leader, to a member or to any; 400 for a non-member', async () => {
    const to = await call(`${n1.url}/admin/transfer-leadership`, { method: 'POST', body: { to: 'n2' } });
    expect(to.status).toBe(200);
    expect(to.body).toEqual({ from: 'n1', to: 'n2' });
    const any = await call(`${n1.url}/admin/transfer-leadership`, { method: 'POST' });
    expect(any.status).toBe(200);
    expect(n1.node.transfers).toEqual(['n2', undefined]);
    const bad = await call(`${n1.url}/admin/transfer-leadership`, { method: 'POST', body: { to: 'n9' } });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^to:/);
    const wrongType = await call(`${n1.url}/admin/transfer-leadership`, { method: 'POST', body: { to: 2 } });
    expect(wrongType.status).toBe(400);
    expect(n1.node.transfers.length).toBe(2);
  });

  it('POST /admin/transfer-leadership on a follower is forwarded to the leader', async () => {
    const before = n1.node.transfers.length;
    const r = await call(`${n2.url}/admin/transfer-leadership`, { method: 'POST', body: { to: 'n2' } });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ from: 'n1', to: 'n2' });
    expect(n1.node.transfers.length).toBe(before + 1);
  });

  it('GET /health is 200; GET /health/ready is 503 JSON with Retry-After until the node is ready', async () => {
    expect((await call(`${n2.url}/health`)).body).toEqual({ status: 'ok', nodeId: 'n2' });
    n2.node.ready = false;
    const notReady = await call(`${n2.url}/health/ready`);
    expect(notReady.status).toBe(503);
    expect(notReady.body).toMatchObject({ error: 'unavailable', leaderId: 'n1' });
    expect(notReady.headers.get('retry-after')).toBe('1');
    n2.node.ready = true;
    const ready = await call(`${n2.url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', nodeId: 'n2', leaderId: 'n1' });
  });
});

describe('cluster token (--cluster-token)', () => {
  let leader: TestNode;
  let follower: TestNode;

  beforeAll(async () => {
    leader = await startTestNode('n1', ['--cluster-token', TOKEN], 'n2=http://127.0.0.1:1');
    follower = await startTestNode('n2', ['--cluster-token', TOKEN], 'n1=http://127.0.0.1:1');
    follower.node.follow('n1');
    follower.node.urls.set('n1', leader.url);
  });
  afterAll(async () => {
    await follower.close();
    await leader.close();
  });

  it('401 JSON without a token or with a wrong one on admin actions; nothing done', async () => {
    for (const headers of [{}, auth('wrong'), { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }]) {
      const snapshot = await call(`${leader.url}/admin/snapshot`, { method: 'POST', headers });
      expect(snapshot.status).toBe(401);
      expect(snapshot.body.error).toBe('unauthorized');
      expect(snapshot.body.message).toMatch(/^authorization/);
      expect(snapshot.headers.get('www-authenticate')).toBe('Bearer');
      expect(snapshot.headers.get('x-raft-node')).toBe('n1');
      const transfer = await call(`${leader.url}/admin/transfer-leadership`, { method: 'POST', body: {}, headers });
      expect(transfer.status).toBe(401);
    }
    expect(leader.node.snapshots).toBe(0);
    expect(leader.node.transfers).toEqual([]);
  });

  it('the right bearer token is accepted; status, cluster, health, metrics and the KV API stay open', async () => {
    expect((await call(`${leader.url}/admin/snapshot`, { method: 'POST', headers: auth(TOKEN) })).status).toBe(200);
    for (const path of ['/admin/status', '/admin/cluster', '/health', '/metrics']) {
      expect({ path, status: (await call(leader.url + path)).status }).toEqual({ path, status: 200 });
    }
    expect((await call(`${leader.url}/kv/k`, { method: 'PUT', body: { value: 'v' } })).status).toBe(200);
  });

  it('a forwarded transfer carries the client\'s Authorization to the leader', async () => {
    const denied = await call(`${follower.url}/admin/transfer-leadership`, { method: 'POST', body: {} });
    expect(denied.status).toBe(401);
    expect(denied.headers.get('x-raft-node')).toBe('n2'); // refused by the follower itself
    const r = await call(`${follower.url}/admin/transfer-leadership`, { method: 'POST', body: {}, headers: auth(TOKEN) });
    expect(r.status).toBe(200);
    expect(r.headers.get('x-raft-node')).toBe('n1');
    expect(leader.node.transfers).toEqual([undefined]);
  });
});

describe('ClusterTokenGuard on other routes (/raft/*)', () => {
  it('bearerTokenMatches: exact token only; no token configured means open', () => {
    expect(bearerTokenMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerTokenMatches(`bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerTokenMatches(`Bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(bearerTokenMatches(`Bearer ${TOKEN.slice(1)}`, TOKEN)).toBe(false);
    expect(bearerTokenMatches(TOKEN, TOKEN)).toBe(false);
    expect(bearerTokenMatches(undefined, TOKEN)).toBe(false);
    expect(bearerTokenMatches([`Bearer ${TOKEN}`], TOKEN)).toBe(false);
    expect(bearerTokenMatches(undefined, null)).toBe(true);
  });

  it('guards a controller of another module with the configured token', async () => {
    @Controller('raft')
    @UseGuards(ClusterTokenGuard)
    class PeerController {
      @Get('ping')
      ping(): { pong: true } {
        return { pong: true };
      }
    }
    @Module({ controllers: [PeerController] })
    class PeerModule {}
    const parsed = parseRaftConfig(['--id', 'n1', '--port', '7999', '--cluster-token', TOKEN], {});
    if (parsed.kind !== 'config') throw new Error('bad test config');
    @Module({ imports: [ConfigModule.forRoot(parsed.config), PeerModule] })
    class App {}
    const app = await NestFactory.create(App, { logger: false });
    await app.listen(0, '127.0.0.1');
    try {
      const url = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}/raft/ping`;
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: auth(TOKEN) })).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});
