/**
 * The peer hot path (src/consensus/transport/peer-hot-path.ts) against the Nest route it stands
 * in front of (RaftPeerController). Each request goes to two apps with the same config and the
 * same receiving node state: `hot` (PeerPortListener installed, as in production) and `ref`
 * (express, HttpSurface and the controller only). The test asserts that both gave the same status,
 * body and headers, what SPEC 3/4 require, and which path served it on `hot` (so a case cannot
 * pass by never reaching the hot path).
 */
import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Global, type INestApplication, Module } from '@nestjs/common';
import { HttpAdapterHost, NestFactory } from '@nestjs/core';
import { ConfigModule } from '../../src/config/config.module.js';
import { parseRaftConfig } from '../../src/config/parse-args.js';
import type { RaftConfig } from '../../src/config/raft-config.js';
import { PROTOCOL_VERSION, type InstallSnapshot, type Message, type NodeId } from '../../src/consensus/core/messages.js';
import { KvNode, type NodeIdentity } from '../../src/consensus/kv-node.port.js';
import { RaftHostService } from '../../src/consensus/raft-host.service.js';
import { SnapshotClaims } from '../../src/consensus/snapshot-claims.js';
import { decodeBatch, encodeBatch, encodeSnapshotChunk } from '../../src/consensus/transport/message-codec.js';
import { PeerEndpoint } from '../../src/consensus/transport/peer-endpoint.js';
import { PeerPortListener } from '../../src/consensus/transport/peer-port-listener.js';
import { PeerRpcHandler } from '../../src/consensus/transport/peer-rpc-handler.js';
import { RaftPeerController } from '../../src/consensus/transport/raft-peer.controller.js';
import { SnapshotReceiver } from '../../src/consensus/transport/snapshot-receiver.js';
import { HttpSurfaceModule } from '../../src/http/http-surface.module.js';
import { MetricsModule } from '../../src/metrics/metrics.module.js';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import { NodeFileSystem } from '../../src/storage/fs/node-file-system.js';
import { SnapshotStore } from '../../src/storage/snapshot-store.js';
import { silentLog } from './helpers/host-cluster.js';

const TOKEN = 's3cret';
const AUTH = `Bearer ${TOKEN}`;
/** Small, so "over the limit" stays small. */
const MESSAGES_BODY_BYTES_MAX = 4096;
const SNAPSHOT_BODY_BYTES_MAX = 64 * 1024;
const v = PROTOCOL_VERSION;
const heartbeat = (commit: number, to = 'n2'): Message => ({ version: v, type: 'Heartbeat', from: 'n1', to, term: 2, commit, context: 0 });

const REPLY_COMMIT = 42;
const heartbeatAnswer: Message = { version: v, type: 'HeartbeatResponse', from: 'n2', to: 'n1', term: 2, context: 0 };

/** The receiving node n2 of a 3-node cluster, as the hot path and the controller see it. */
class ReceivingNode {
  readonly stepped: Message[] = [];
  readonly contacts: NodeId[] = [];
  peerRpc: PeerRpcHandler | null = null;
  store: SnapshotStore | null = null;

  async open(dir: string): Promise<void> {
    const store = await SnapshotStore.open(new NodeFileSystem(), join(dir, 'snapshots'), { fsync: false });
    const receiver = new SnapshotReceiver(store, new SnapshotClaims(), (m) => this.stepped.push(m), silentLog);
    this.store = store;
    this.peerRpc = new PeerRpcHandler(
      { nodeId: 'n2', members: ['n1', 'n2', 'n3'], clusterToken: TOKEN },
      { stepAll: (ms) => this.step(ms), received: () => undefined, noteContact: (p) => this.contacts.push(p), fatal: (e) => { throw e; } },
      receiver,
      silentLog,
    );
  }

  /** A heartbeat with commit REPLY_COMMIT is answered in the response (as a real node's answers are). */
  private step(ms: readonly Message[]): Promise<readonly Message[]> | undefined {
    this.stepped.push(...ms);
    return ms.some((m) => m.type === 'Heartbeat' && m.commit === REPLY_COMMIT) ? Promise.resolve([heartbeatAnswer]) : undefined;
  }

  peerBodyBytesMax(route: string): number {
    return route === 'install-snapshot' ? SNAPSHOT_BODY_BYTES_MAX : MESSAGES_BODY_BYTES_MAX;
  }

  identity(): NodeIdentity {
    return { nodeId: 'n2', role: 'follower', term: 2, leaderId: 'n1' };
  }
}

interface PeerApp {
  readonly url: string;
  readonly node: ReceivingNode;
  readonly app: INestApplication;
}

async function startPeerApp(config: RaftConfig, dir: string, withHotPath: boolean): Promise<PeerApp> {
  const node = new ReceivingNode();
  await node.open(dir);

  @Global()
  @Module({ providers: [{ provide: RaftHostService, useValue: node }, { provide: KvNode, useValue: node }], exports: [RaftHostService, KvNode] })
  class FakeNodeModule {}

  @Module({
    imports: [ConfigModule.forRoot(config), MetricsModule, FakeNodeModule, HttpSurfaceModule],
    controllers: [RaftPeerController],
    providers: withHotPath ? [PeerPortListener] : [],
  })
  class PeerTestModule {}

  const app = await NestFactory.create(PeerTestModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, node, app };
}

let dir: string;
let config: RaftConfig;
let hot: PeerApp;
let ref: PeerApp;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'raft-kv-peer-hot-'));
  const parsed = parseRaftConfig(['--id', 'n2', '--port', '7999', '--peers', 'n1=http://127.0.0.1:1,n3=http://127.0.0.1:2', '--cluster-token', TOKEN], {});
  if (parsed.kind !== 'config') throw new Error('bad test config');
  config = parsed.config;
  hot = await startPeerApp(config, join(dir, 'hot'), true);
  ref = await startPeerApp(config, join(dir, 'ref'), false);
});
afterAll(async () => {
  await Promise.all([hot.app.close(), ref.app.close()]);
  await rm(dir, { recursive: true, force: true });
});

interface Sent {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: Uint8Array | string;
  /** Sent chunked (no Content-Length). */
  readonly chunked?: boolean;
}

const COMPARED_HEADERS = ['content-type', 'content-length', 'connection', 'retry-after', 'www-authenticate', 'x-raft-node', 'x-raft-leader', 'x-raft-term'];

async function send(url: string, sent: Sent): Promise<{ status: number; text: string; headers: Record<string, string | null> }> {
  let body: RequestInit['body'] = sent.body === undefined ? undefined : typeof sent.body === 'string' ? sent.body : Buffer.from(sent.body);
  if (sent.chunked === true && sent.body !== undefined) {
    const bytes = typeof sent.body === 'string' ? Buffer.from(sent.body) : sent.body;
    body = new ReadableStream({ start: (c) => { c.enqueue(bytes); c.close(); } });
  }
  const init: RequestInit & { duplex?: 'half' } = { method: sent.method ?? 'POST', headers: sent.headers, body, ...(sent.chunked === true ? { duplex: 'half' } : {}) };
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, text, headers: Object.fromEntries(COMPARED_HEADERS.map((h) => [h, res.headers.get(h)])) };
}

type Path = 'served' | 'handedOff';

/** Sends the same request to `ref` then `hot`; asserts identical answers and the path `hot` took. */
async function both(path: string, sent: Sent, expectedPath: Path) {
  const r = await send(ref.url + path, sent);
  const counters = hot.app.get(PeerPortListener).hotPath.counters;
  const before = { ...counters };
  const h = await send(hot.url + path, sent);
  expect({ path, ...h }).toEqual({ path, ...r });
  expect({ path, served: counters.served - before.served, handedOff: counters.handedOff - before.handedOff }).toEqual({
    path,
    served: expectedPath === 'served' ? 1 : 0,
    handedOff: expectedPath === 'handedOff' ? 1 : 0,
  });
  return h;
}

const octets = (body: Uint8Array | string, authorization: string | null = AUTH): Sent => ({
  body,
  headers: { 'content-type': 'application/octet-stream', ...(authorization === null ? {} : { authorization }) },
});

describe('peer requests served without express, with the controller\'s answers', () => {
  it('a batch for this node: 204, stepped into the core, contact noted', async () => {
    const stepped = { hot: hot.node.stepped.length, ref: ref.node.stepped.length };
    const h = await both('/raft/heartbeat', octets(encodeBatch([heartbeat(7)])), 'served');
    expect(h.status).toBe(204);
    expect(h.headers['x-raft-node']).toBe('n2');
    expect(hot.node.stepped.slice(stepped.hot)).toEqual([heartbeat(7)]);
    expect(ref.node.stepped.slice(stepped.ref)).toEqual([heartbeat(7)]);
    expect(hot.node.contacts.at(-1)).toBe('n1');
  });

  it('a batch the node answers: 200 with its answers as an octet-stream batch', async () => {
    const h = await both('/raft/heartbeat', octets(encodeBatch([heartbeat(REPLY_COMMIT)])), 'served');
    expect(h.status).toBe(200);
    expect(h.headers['content-type']).toBe('application/octet-stream');
    const res = await fetch(`${hot.url}/raft/heartbeat`, { method: 'POST', ...octets(encodeBatch([heartbeat(REPLY_COMMIT)])), body: encodeBatch([heartbeat(REPLY_COMMIT)]) });
    expect(decodeBatch(Buffer.from(await res.arrayBuffer()))).toEqual([heartbeatAnswer]);
  });

  it('SPEC 3: a missing or wrong cluster token is 401 unauthorized, the body unread and the connection closed', async () => {
    const stepped = hot.node.stepped.length;
    for (const authorization of [null, 'Bearer nope', `Basic ${TOKEN}`]) {
      const h = await both('/raft/append-entries', octets(encodeBatch([heartbeat(1)]), authorization), 'served');
      expect(h.status).toBe(401);
      expect(JSON.parse(h.text)).toEqual({ error: 'unauthorized', message: expect.any(String) });
      expect(h.headers.connection).toBe('close');
    }
    // The token is checked before the route: a stranger learns nothing about the endpoints.
    expect((await both('/raft/nope', octets('x', 'Bearer nope'), 'served')).status).toBe(401);
    expect(hot.node.stepped.length).toBe(stepped);
  });

  it('the handler\'s refusals: another protocol version, a misaddressed message, a wrong endpoint (400)', async () => {
    const otherVersion = encodeBatch([heartbeat(1)]);
    otherVersion[0] = PROTOCOL_VERSION + 1;
    for (const [route, body] of [
      ['heartbeat', otherVersion],
      ['heartbeat', encodeBatch([heartbeat(1, 'n3')])],
      ['request-vote', encodeBatch([heartbeat(1)])],
    ] as const) {
      const h = await both(`/raft/${route}`, octets(body), 'served');
      expect(h.status).toBe(400);
      expect(JSON.parse(h.text)).toMatchObject({ error: 'bad_request' });
    }
  });

  it('a declared body over the limit: 413 too_large before reading it, the connection closed', async () => {
    const h = await both('/raft/messages', octets(new Uint8Array(MESSAGES_BODY_BYTES_MAX + 1)), 'served');
    expect(h.status).toBe(413);
    expect(JSON.parse(h.text)).toMatchObject({ error: 'too_large' });
    expect(h.headers.connection).toBe('close');
  });

  it('a chunked InstallSnapshot stream through PeerEndpoint: each chunk served here, the snapshot stepped once on disk', async () => {
    const before = hot.app.get(PeerPortListener).hotPath.counters.served;
    const message: InstallSnapshot = { version: v, type: 'InstallSnapshot', from: 'n1', to: 'n2', term: 2, snapshot: { index: 9, term: 2, config: { voters: ['n1', 'n2', 'n3'] } } };
    const data = Buffer.from(Array.from({ length: 3000 }, (_, k) => k % 251));
    const endpoint = new PeerEndpoint(hot.url, { requestTimeoutMs: 5000, authorization: AUTH });
    try {
      await endpoint.post('install-snapshot', encodeSnapshotChunk({ message, offset: 0, done: false, data: data.subarray(0, 2000) }));
      expect(hot.node.stepped).not.toContainEqual(message);
      await endpoint.post('install-snapshot', encodeSnapshotChunk({ message, offset: 2000, done: true, data: data.subarray(2000) }));
      // A chunk that does not continue the transfer: 409 from the handler.
      await expect(endpoint.post('install-snapshot', encodeSnapshotChunk({ message, offset: 500, done: true, data: new Uint8Array(1) }))).rejects.toMatchObject({ status: 409 });
    } finally {
      await endpoint.close();
    }
    expect(hot.node.stepped.filter((m) => m.type === 'InstallSnapshot')).toEqual([message]);
    expect(hot.node.store?.find(message.snapshot)?.dataBytes).toBe(data.length);
    expect(hot.app.get(PeerPortListener).hotPath.counters.served - before).toBe(3);
  });
});

describe('unusual peer requests fall through to the controller, unchanged', () => {
  it('an unknown endpoint (404), a non-binary body (415), a GET (404)', async () => {
    expect((await both('/raft/nope', octets(encodeBatch([heartbeat(1)])), 'handedOff')).status).toBe(404);
    expect((await both('/raft/heartbeat', { body: 'x', headers: { 'content-type': 'text/plain', authorization: AUTH } }, 'handedOff')).status).toBe(415);
    expect((await both('/raft/heartbeat', { method: 'GET', headers: { authorization: AUTH } }, 'handedOff')).status).toBe(404);
  });

  it('a query string, an encoded route name and a chunked body are still served by the controller (204)', async () => {
    const stepped = hot.node.stepped.length;
    expect((await both('/raft/heartbeat?x=1', octets(encodeBatch([heartbeat(11)])), 'handedOff')).status).toBe(204);
    expect((await both('/raft/heart%62eat', octets(encodeBatch([heartbeat(12)])), 'handedOff')).status).toBe(204);
    expect((await both('/raft/heartbeat', { ...octets(encodeBatch([heartbeat(13)])), chunked: true }, 'handedOff')).status).toBe(204);
    expect(hot.node.stepped.slice(stepped)).toEqual([heartbeat(11), heartbeat(12), heartbeat(13)]);
  });

  it('client requests are not the hot path\'s business', async () => {
    const counters = { ...hot.app.get(PeerPortListener).hotPath.counters };
    const h = await send(`${hot.url}/health`, { method: 'GET' });
    const r = await send(`${ref.url}/health`, { method: 'GET' });
    expect(h).toEqual(r);
    expect(hot.app.get(PeerPortListener).hotPath.counters).toEqual(counters);
  });
});

describe('--peer-port: the second listener has the hot path in front too', () => {
  it('serves /raft/* there and hands the rest to the application', async () => {
    const port = await freePort();
    // Built directly, as the container would, around the hot app's node and express instance.
    const peerListener = new PeerPortListener({ ...config, peerPort: port } as RaftConfig, new HttpAdapterHost(), hot.node as unknown as RaftHostService, new MetricsService());
    await peerListener.listen(hot.app.getHttpAdapter().getInstance() as Parameters<PeerPortListener['listen']>[0], 5000);
    try {
      const url = `http://127.0.0.1:${port}`;
      const stepped = hot.node.stepped.length;
      expect((await send(`${url}/raft/heartbeat`, octets(encodeBatch([heartbeat(21)])))).status).toBe(204);
      expect((await send(`${url}/raft/heartbeat`, octets(encodeBatch([heartbeat(22)]), 'Bearer nope'))).status).toBe(401);
      expect(hot.node.stepped.slice(stepped)).toEqual([heartbeat(21)]);
      expect(peerListener.hotPath.counters).toEqual({ served: 2, handedOff: 0 });
      // Anything else reaches the application behind it.
      expect((await send(`${url}/raft/nope`, octets('x'))).status).toBe(404);
      expect(peerListener.hotPath.counters).toEqual({ served: 2, handedOff: 1 });
    } finally {
      await peerListener.beforeApplicationShutdown();
    }
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
