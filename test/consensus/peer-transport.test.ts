import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import { PROTOCOL_VERSION, type InstallSnapshot, type Message, type NodeId } from '../../src/consensus/core/messages.js';
import { SnapshotClaims } from '../../src/consensus/snapshot-claims.js';
import { decodeBatch, encodeBatch, encodeSnapshotChunk } from '../../src/consensus/transport/message-codec.js';
import { PeerChannel, type BatchPoster, type PeerChannelEvents } from '../../src/consensus/transport/peer-channel.js';
import { PeerEndpoint, PeerHttpError } from '../../src/consensus/transport/peer-endpoint.js';
import { PeerRpcHandler } from '../../src/consensus/transport/peer-rpc-handler.js';
import { SnapshotReceiver } from '../../src/consensus/transport/snapshot-receiver.js';
import { SnapshotSender } from '../../src/consensus/transport/snapshot-sender.js';
import { NodeFileSystem } from '../../src/storage/fs/node-file-system.js';
import { SnapshotStore } from '../../src/storage/snapshot-store.js';
import { silentLog } from './helpers/host-cluster.js';
import { appendMessage } from './helpers/peer-messages.js';

const v = PROTOCOL_VERSION;
const heartbeat = (commit: number, to = 'n2'): Message => ({ version: v, type: 'Heartbeat', from: 'n1', to, term: 2, commit, context: 0 });
const append = (index: number): Message => appendMessage(index);

/** A poster whose requests complete when the test says so. */
class ManualPoster implements BatchPoster {
  readonly requests: { route: string; messages: Message[]; done: (error?: Error) => void }[] = [];
  post(route: string, body: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.requests.push({ route, messages: decodeBatch(Buffer.from(body)), done: (error) => (error ? reject(error) : resolve()) });
    });
  }
}

function recordingEvents(): PeerChannelEvents & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    delivered: (peer) => log.push(`delivered ${peer}`),
    failed: (peer, _error, first) => log.push(`failed ${peer} first=${first}`),
    dropped: (peer, count) => log.push(`dropped ${peer} ${count}`),
  };
}

const CHANNEL = { queueMessagesMax: 100, queueBytesMax: 1 << 20, batchBytesMax: 1 << 20, backoffMinMs: 0, backoffMaxMs: 0 };
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('PeerChannel: one bounded queue per peer, one request in flight, batching', () => {
  it('sends the first message at once and batches what queues up meanwhile, in order', async () => {
    const poster = new ManualPoster();
    const events = recordingEvents();
    const channel = new PeerChannel('n2', poster, CHANNEL, events);
    channel.enqueue(heartbeat(1));
    channel.flush();
    expect(poster.requests).toHaveLength(1);
    expect(poster.requests[0]?.route).toBe('heartbeat');
    for (let k = 2; k <= 4; k++) {
      channel.enqueue(append(k));
      channel.flush();
    }
    channel.enqueue(heartbeat(9));
    channel.flush();
    // Still one request: the rest waits for it.
    expect(poster.requests).toHaveLength(1);
    poster.requests[0]?.done();
    await tick();
    expect(poster.requests).toHaveLength(2);
    const second = poster.requests[1];
    expect(second?.route).toBe('messages');
    // The three contiguous appends were merged into one (coalesce.ts); order is kept.
    expect(second?.messages.map((m) => (m.type === 'AppendEntries' ? m.entries.map((e) => e.index).join(',') : `hb${m.type === 'Heartbeat' ? m.commit : ''}`))).toEqual(['2,3,4', 'hb9']);
    second?.done();
    await tick();
    expect(events.log).toEqual(['delivered n2', 'delivered n2']);
  });

  it('drops the oldest queued messages past its bound (Raft tolerates loss)', async () => {
    const poster = new ManualPoster();
    const events = recordingEvents();
    const channel = new PeerChannel('n2', poster, { ...CHANNEL, queueMessagesMax: 2 }, events);
    channel.enqueue(heartbeat(0));
    channel.flush();
    for (let k = 1; k <= 5; k++) channel.enqueue(heartbeat(k));
    expect(channel.queuedMessages).toBe(2);
    expect(events.log).toEqual(['dropped n2 1', 'dropped n2 1', 'dropped n2 1']);
    poster.requests[0]?.done();
    await tick();
    expect(poster.requests[1]?.messages.map((m) => (m.type === 'Heartbeat' ? m.commit : -1))).toEqual([4, 5]);
  });

  it('keeps no reference to a message once it is sent or dropped (they pin log entries)', async () => {
    const poster = new ManualPoster();
    const channel = new PeerChannel('n2', poster, { ...CHANNEL, queueMessagesMax: 3 }, recordingEvents());
    // Heartbeats do not merge, so each one is a slot of its own.
    for (let k = 1; k <= 50; k++) {
      channel.enqueue(heartbeat(k));
      channel.flush();
      if (k % 10 === 0) {
        poster.requests[poster.requests.length - 1]?.done();
        await tick();
      }
    }
    const held = (channel as unknown as { queue: unknown[] }).queue.filter((slot) => slot !== undefined).length;
    expect(held).toBe(channel.queuedMessages);
  });

  it('a failed request reports the peer, drops the backlog and keeps going', async () => {
    const poster = new ManualPoster();
    const events = recordingEvents();
    const channel = new PeerChannel('n2', poster, CHANNEL, events);
    channel.enqueue(heartbeat(1));
    channel.flush();
    channel.enqueue(heartbeat(2));
    poster.requests[0]?.done(new Error('ECONNREFUSED'));
    await tick();
    expect(events.log).toEqual(['dropped n2 1', 'failed n2 first=true']);
    expect(poster.requests).toHaveLength(1);
    channel.enqueue(heartbeat(3));
    channel.flush();
    expect(poster.requests).toHaveLength(2);
    poster.requests[1]?.done(new Error('ECONNREFUSED'));
    await tick();
    expect(events.log.at(-1)).toBe('failed n2 first=false');
  });

  it('a slow peer does not hold up another peer', async () => {
    const slow = new ManualPoster();
    const fast = new ManualPoster();
    const toSlow = new PeerChannel('n2', slow, CHANNEL, recordingEvents());
    const toFast = new PeerChannel('n3', fast, CHANNEL, recordingEvents());
    for (let k = 0; k < 3; k++) {
      toSlow.enqueue(heartbeat(k, 'n2'));
      toSlow.flush();
      toFast.enqueue(heartbeat(k, 'n3'));
      toFast.flush();
      fast.requests.at(-1)?.done();
      await tick();
    }
    expect(slow.requests).toHaveLength(1);
    expect(fast.requests).toHaveLength(3);
  });
});

/** The receiving side: a handler stepping into a recording sink, with a real snapshot store. */
async function receivingNode(dir: string, token: string | null) {
  const store = await SnapshotStore.open(new NodeFileSystem(), join(dir, 'snapshots'), { fsync: false });
  const stepped: Message[] = [];
  const contacts: NodeId[] = [];
  const fatal: unknown[] = [];
  const received: number[] = [];
  const receiver = new SnapshotReceiver(store, new SnapshotClaims(), (m) => stepped.push(m), silentLog);
  const handler = new PeerRpcHandler(
    { nodeId: 'n2', members: ['n1', 'n2', 'n3'], clusterToken: token },
    {
      stepAll: (ms) => { stepped.push(...ms); },
      received: (ms) => received.push(ms.length),
      noteContact: (p) => contacts.push(p),
      fatal: (e) => fatal.push(e),
    },
    receiver,
    silentLog,
  );
  return { store, stepped, contacts, fatal, handler, receiver, received };
}

let tempDir: string | null = null;
afterEach(async () => {
  if (tempDir !== null) await rm(tempDir, { recursive: true, force: true });
  tempDir = null;
});

describe('PeerRpcHandler: /raft/* without the web framework', () => {
  it('checks the cluster token before anything else', async () => {
    tempDir = await mkdtemp(join(tmpdir(), 'raft-kv-rpc-'));
    const node = await receivingNode(tempDir, 's3cret');
    const body = encodeBatch([heartbeat(1)]);
    expect((await node.handler.handle('heartbeat', undefined, body)).status).toBe(401);
    expect((await node.handler.handle('heartbeat', 'Bearer wrong!', body)).status).toBe(401);
    expect(node.stepped).toEqual([]);
    expect((await node.handler.handle('heartbeat', 'bearer s3cret', body)).status).toBe(204);
    expect(node.stepped).toEqual([heartbeat(1)]);
    expect(node.contacts).toEqual(['n1']);
  });

  it('refuses another protocol version, a misaddressed message, a stranger and a wrong endpoint with 400', async () => {
    tempDir = await mkdtemp(join(tmpdir(), 'raft-kv-rpc-'));
    const node = await receivingNode(tempDir, null);
    const otherVersion = encodeBatch([heartbeat(1)]);
    otherVersion[0] = PROTOCOL_VERSION + 1;
    const answer = await node.handler.handle('heartbeat', undefined, otherVersion);
    expect(answer.status).toBe(400);
    expect(answer.body?.message).toMatch(/protocol version/);
    expect((await node.handler.handle('heartbeat', undefined, encodeBatch([heartbeat(1, 'n3')]))).status).toBe(400);
    const stranger = { ...heartbeat(1), from: 'n9' } as Message;
    expect((await node.handler.handle('heartbeat', undefined, encodeBatch([stranger]))).status).toBe(400);
    expect((await node.handler.handle('request-vote', undefined, encodeBatch([heartbeat(1)]))).status).toBe(400);
    expect((await node.handler.handle('nope', undefined, encodeBatch([heartbeat(1)]))).status).toBe(404);
    expect(node.stepped).toEqual([]);
  });

  it('streams a snapshot in chunks to disk and steps InstallSnapshot only once the last chunk is committed', async () => {
    tempDir = await mkdtemp(join(tmpdir(), 'raft-kv-rpc-'));
    const sending = await SnapshotStore.open(new NodeFileSystem(), join(tempDir, 'sender'), { fsync: false });
    const meta = { index: 40, term: 3, config: { voters: ['n1', 'n2', 'n3'] } };
    const data = Buffer.from(Array.from({ length: 10_000 }, (_, k) => (k * 7) % 256));
    const writer = await sending.beginWrite(meta);
    await writer.write(data);
    await writer.commit();
    const node = await receivingNode(tempDir, null);
    const steppedAtEachChunk: number[] = [];
    const finished: boolean[] = [];
    let streamEnded: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => (streamEnded = resolve));
    // The handler is the poster: every chunk goes straight to the receiving side.
    const poster: BatchPoster = {
      post: async (route, body) => {
        steppedAtEachChunk.push(node.stepped.length);
        const answer = await node.handler.handle(route, undefined, Buffer.from(body));
        if (answer.status !== 204) throw new Error(`status ${answer.status}`);
      },
    };
    const sender = new SnapshotSender(sending, () => poster, 4096, {
      finished: (_peer, ok) => {
        finished.push(ok);
        streamEnded();
      },
    }, silentLog);
    const message: InstallSnapshot = { version: v, type: 'InstallSnapshot', from: 'n1', to: 'n2', term: 4, snapshot: meta };
    sender.send(message);
    sender.send(message); // ignored: already streaming to n2
    await ended;
    expect(finished).toEqual([true]);
    // 3 data chunks of at most 4096 bytes, then the empty `done` chunk.
    expect(steppedAtEachChunk).toEqual([0, 0, 0, 0]);
    expect(node.stepped).toEqual([message]);
    expect(node.store.find(meta)?.dataBytes).toBe(data.length);
    const chunks: Uint8Array[] = [];
    for await (const chunk of node.store.openRead(meta)) chunks.push(chunk);
    const received = Buffer.concat(chunks);
    expect(received.equals(data)).toBe(true);
  });

  it('refuses a chunk that does not continue the transfer with 409', async () => {
    tempDir = await mkdtemp(join(tmpdir(), 'raft-kv-rpc-'));
    const node = await receivingNode(tempDir, null);
    const message: InstallSnapshot = { version: v, type: 'InstallSnapshot', from: 'n1', to: 'n2', term: 4, snapshot: { index: 9, term: 2, config: { voters: ['n1', 'n2', 'n3'] } } };
    const chunk = (offset: number, done: boolean) => encodeSnapshotChunk({ message, offset, done, data: new Uint8Array(100) });
    expect((await node.handler.handle('install-snapshot', undefined, chunk(100, false))).status).toBe(409);
    expect((await node.handler.handle('install-snapshot', undefined, chunk(0, false))).status).toBe(204);
    expect((await node.handler.handle('install-snapshot', undefined, chunk(300, true))).status).toBe(409);
    expect(node.stepped).toEqual([]);
    expect(node.store.find(message.snapshot)).toBeNull();
    await node.receiver.close();
  });
});

describe('PeerEndpoint: keep-alive HTTP to a peer url', () => {
  let server: Server | null = null;
  afterEach(async () => {
    const s = server;
    server = null;
    if (s !== null) await new Promise((resolve) => s.close(resolve));
  });

  it('posts to <url path>/raft/<route> with the bearer token, and throws on a non-2xx answer', async () => {
    const seen: { url: string | undefined; auth: string | undefined; type: string | undefined; bytes: number }[] = [];
    server = createServer(async (req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      seen.push({ url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], bytes: Buffer.concat(chunks).length });
      res.statusCode = req.url?.endsWith('/refuse') ? 400 : 204;
      res.end(res.statusCode === 400 ? '{"error":"bad_request","message":"no"}' : undefined);
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const endpoint = new PeerEndpoint(`http://127.0.0.1:${port}/proxy/n2`, { requestTimeoutMs: 2000, authorization: 'Bearer tok' });
    try {
      await endpoint.post('heartbeat', encodeBatch([heartbeat(1)]));
      await endpoint.post('heartbeat', encodeBatch([heartbeat(2)]));
      const error = await endpoint.post('refuse', new Uint8Array(3)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PeerHttpError);
      expect((error as PeerHttpError).status).toBe(400);
    } finally {
      await endpoint.close();
    }
    expect(seen[0]).toEqual({ url: '/proxy/n2/raft/heartbeat', auth: 'Bearer tok', type: 'application/octet-stream', bytes: encodeBatch([heartbeat(1)]).length });
    expect(seen).toHaveLength(3);
  });
});

describe('PeerChannel: merging what queues up', () => {
  it('sends contiguous appends queued while a request is in flight as one AppendEntries', async () => {
    const poster = new ManualPoster();
    const channel = new PeerChannel('n2', poster, CHANNEL, recordingEvents());
    channel.enqueue(append(1));
    channel.flush();
    for (let k = 2; k <= 6; k++) channel.enqueue(append(k));
    expect(channel.queuedMessages).toBe(1);
    poster.requests[0]?.done();
    await tick();
    const sent = poster.requests[1]?.messages ?? [];
    expect(sent).toHaveLength(1);
    expect(sent[0]?.type === 'AppendEntries' ? sent[0].entries.map((e) => e.index) : []).toEqual([2, 3, 4, 5, 6]);
  });
});
