import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { PROTOCOL_VERSION, type Message, type NodeId } from '../../src/consensus/core/messages.js';
import { decodeBatch, encodeBatch } from '../../src/consensus/transport/message-codec.js';
import type { BatchPoster } from '../../src/consensus/transport/peer-channel.js';
import { PeerEndpoint } from '../../src/consensus/transport/peer-endpoint.js';
import { PeerRpcHandler } from '../../src/consensus/transport/peer-rpc-handler.js';
import { PeerTransport, type PosterFactory } from '../../src/consensus/transport/peer-transport.js';
import type { SnapshotReceiver } from '../../src/consensus/transport/snapshot-receiver.js';
import { CountingMetrics, HostCluster, ManualClock, MemorySnapshotStore, silentLog, track } from './helpers/host-cluster.js';

/**
 * Answers ride back on the response to the request they answer (peer-routes.ts): the receiver
 * gathers what it sends the requester until it has handled the batch, the requester steps the
 * reply into its core. Fewer requests and socket writes per replicated write, same messages.
 */

const v = PROTOCOL_VERSION;
const heartbeat = (from: NodeId, to: NodeId, commit = 0): Message => ({ version: v, type: 'Heartbeat', from, to, term: 2, commit, context: 0 });
const heartbeatResponse = (from: NodeId, to: NodeId): Message => ({ version: v, type: 'HeartbeatResponse', from, to, term: 2, context: 0 });
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Posters that record each request and answer it with whatever the test queued for that peer. */
function recordingPosters(replies: Map<NodeId, Uint8Array | null>) {
  const posted: { peer: NodeId; messages: Message[] }[] = [];
  const factory: PosterFactory = (peer, purpose): BatchPoster => ({
    post: async (_route, body) => {
      if (purpose === 'messages') posted.push({ peer: peer.id, messages: decodeBatch(Buffer.from(body)) });
      return replies.get(peer.id) ?? null;
    },
  });
  return { posted, factory };
}

function transportOf(factory: PosterFactory, stepped: Message[][]) {
  const metrics = new CountingMetrics() as CountingMetrics & { observePeerBatch(): void };
  metrics.observePeerBatch = () => undefined;
  const transport = new PeerTransport(
    {
      nodeId: 'n1',
      peers: [
        { id: 'n2', url: 'http://n2.test' },
        { id: 'n3', url: 'http://n3.test' },
      ],
      clusterToken: null,
      requestTimeoutMs: 1_000,
      snapshotChunkBytes: 1 << 20,
      channel: { queueMessagesMax: 100, queueBytesMax: 1 << 20, batchBytesMax: 1 << 20, backoffMinMs: 0, backoffMaxMs: 0 },
    },
    new MemorySnapshotStore(),
    metrics,
    silentLog,
    new ManualClock(),
    factory,
  );
  transport.attach({ stepAll: (ms) => stepped.push([...ms]), reportUnreachable: () => undefined, reportSnapshot: () => undefined });
  return transport;
}

describe('PeerTransport: gathering replies and stepping them', () => {
  it("diverts what is sent to the requester into its reply until the batch is handled; other peers' messages, and later ones, go by their channels", async () => {
    const { posted, factory } = recordingPosters(new Map());
    const transport = transportOf(factory, []);
    let handled: () => void = () => undefined;
    const reply = transport.gatherReplies(
      'n2',
      () => transport.send([heartbeatResponse('n1', 'n2'), heartbeat('n1', 'n3')]),
      () => new Promise<void>((resolve) => (handled = resolve)),
    );
    transport.send([heartbeat('n1', 'n2', 7)]);
    await tick();
    // Only n3's message left by a channel; n2's two wait in the reply.
    expect(posted.map((p) => p.peer)).toEqual(['n3']);
    handled();
    expect(await reply).toEqual([heartbeatResponse('n1', 'n2'), heartbeat('n1', 'n2', 7)]);
    transport.send([heartbeat('n1', 'n2', 8)]);
    await tick();
    expect(posted.map((p) => [p.peer, p.messages])).toEqual([
      ['n3', [heartbeat('n1', 'n3')]],
      ['n2', [heartbeat('n1', 'n2', 8)]],
    ]);
    await transport.close();
  });

  it('steps the messages a peer replied with; a reply with a stray message or undecodable bytes is dropped whole', async () => {
    const replies = new Map<NodeId, Uint8Array | null>([['n2', encodeBatch([heartbeatResponse('n2', 'n1')])]]);
    const stepped: Message[][] = [];
    const transport = transportOf(recordingPosters(replies).factory, stepped);
    transport.send([heartbeat('n1', 'n2')]);
    await tick();
    expect(stepped).toEqual([[heartbeatResponse('n2', 'n1')]]);
    // From n3 in n2's reply; addressed to n3; garbage.
    for (const bad of [encodeBatch([heartbeatResponse('n3', 'n1')]), encodeBatch([heartbeatResponse('n2', 'n3')]), Uint8Array.of(9, 9, 9)]) {
      replies.set('n2', bad);
      transport.send([heartbeat('n1', 'n2')]);
      await tick();
    }
    expect(stepped).toHaveLength(1);
    await transport.close();
  });
});

describe('PeerRpcHandler: the reply in the answer', () => {
  function handlerWith(stepAll: (ms: readonly Message[]) => void | Promise<readonly Message[]>) {
    return new PeerRpcHandler(
      { nodeId: 'n2', members: ['n1', 'n2', 'n3'], clusterToken: null },
      { stepAll, received: () => undefined, noteContact: () => undefined, fatal: () => undefined },
      {} as SnapshotReceiver,
      silentLog,
    );
  }

  it('answers 200 with the gathered messages as a batch, 204 when there are none', async () => {
    const withReply = await handlerWith(async () => [heartbeatResponse('n2', 'n1')]).handle('heartbeat', undefined, encodeBatch([heartbeat('n1', 'n2')]));
    expect(withReply.status).toBe(200);
    expect(decodeBatch(Buffer.from(withReply.reply as Uint8Array))).toEqual([heartbeatResponse('n2', 'n1')]);
    expect((await handlerWith(async () => []).handle('heartbeat', undefined, encodeBatch([heartbeat('n1', 'n2')]))).status).toBe(204);
    expect((await handlerWith(() => undefined).handle('heartbeat', undefined, encodeBatch([heartbeat('n1', 'n2')]))).status).toBe(204);
  });
});

let server: Server | null = null;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = null;
});

describe('PeerEndpoint: reading the reply over HTTP', () => {
  it('resolves with the body of a 200 application/octet-stream answer, with null on 204', async () => {
    const reply = encodeBatch([heartbeatResponse('n2', 'n1')]);
    let answerWithReply = true;
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (answerWithReply) res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': reply.length }).end(reply);
        else res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => (server as Server).listen(0, '127.0.0.1', resolve));
    const endpoint = new PeerEndpoint(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { requestTimeoutMs: 2_000, authorization: null });
    try {
      const body = await endpoint.post('heartbeat', encodeBatch([heartbeat('n1', 'n2')]));
      expect(decodeBatch(Buffer.from(body as Uint8Array))).toEqual([heartbeatResponse('n2', 'n1')]);
      answerWithReply = false;
      expect(await endpoint.post('heartbeat', encodeBatch([heartbeat('n1', 'n2')]))).toBeNull();
    } finally {
      await endpoint.close();
    }
  });
});

describe('RaftHost.settled: when a stepped batch has been handled', () => {
  it('resolves only after the Ready that took the batch is durable and its answers are sent', async () => {
    const cluster = new HostCluster(['n1', 'n2', 'n3']);
    await cluster.elect('n1');
    const n2 = cluster.node('n2');
    n2.storage.hold = true;
    void cluster.node('n1').host.write({ op: 'put', key: 'k', value: 'v' });
    await cluster.node('n1').host.whenIdle();
    await tick();
    const toN2 = cluster.inFlight.filter((m) => m.to === 'n2' && m.type === 'AppendEntries');
    cluster.inFlight = cluster.inFlight.filter((m) => m.to !== 'n2');
    expect(toN2.length).toBeGreaterThan(0);
    n2.host.stepAll(toN2);
    const settled = track(n2.host.settled().then(() => cluster.events.push('n2 settled')));
    for (let k = 0; k < 5; k++) await tick();
    expect(settled.state).toBe('pending');
    expect(n2.storage.heldSaves).toBe(1);
    n2.storage.release();
    for (let k = 0; k < 5 && settled.state === 'pending'; k++) await tick();
    expect(settled.state).toBe('resolved');
    const tail = cluster.events.slice(cluster.events.findIndex((e) => e.startsWith('n2 save-done')));
    expect(tail.indexOf('n2 send AppendEntriesResponse->n1')).toBeGreaterThan(0);
    expect(tail.indexOf('n2 settled')).toBeGreaterThan(tail.indexOf('n2 send AppendEntriesResponse->n1'));
  });

  it('resolves at once when nothing is pending, and when the node stops', async () => {
    const cluster = new HostCluster(['n1', 'n2', 'n3']);
    await cluster.elect('n1');
    const n2 = cluster.node('n2');
    await expect(n2.host.settled()).resolves.toBeUndefined();
    n2.storage.hold = true;
    n2.host.stepAll([heartbeat('n1', 'n2', 1)]);
    const settled = track(n2.host.settled());
    await tick();
    const stopping = n2.host.stop();
    n2.storage.release();
    await stopping;
    await tick();
    expect(settled.state).toBe('resolved');
  });
});
