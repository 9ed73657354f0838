/**
 * A fake raft-kv cluster for client tests: node:http servers on port 0 that give SPEC 2 and 3
 * answers from one shared store, with exactly-once sessions (a repeated clientId+seq gets the
 * first answer back; a lower seq gets 409). No Raft: a node is the leader (serves), a
 * forwarder (serves with the leader's headers, as a relaying follower does) or leaderless
 * (503 no_leader with Retry-After). Tests queue one-off replies per node to script failures.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export type NodeMode = 'leader' | 'forward' | 'no-leader';

export interface RecordedRequest {
  readonly node: string;
  readonly method: string;
  /** The path and query exactly as sent, still percent-encoded. */
  readonly rawPath: string;
  readonly body: Record<string, unknown> | undefined;
  readonly authorization: string | undefined;
}

export interface FakeReply {
  readonly status: number;
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

/** A scripted reply: may call `cluster.serve(request)` to do what the leader would, then answer otherwise. */
export type Interceptor = (request: RecordedRequest, cluster: FakeCluster) => FakeReply | Promise<FakeReply>;

interface FakeNode {
  readonly id: string;
  readonly server: http.Server;
  url: string;
  mode: NodeMode;
  readonly interceptors: Interceptor[];
}

interface Session {
  readonly seq: number;
  readonly answer: FakeReply;
}

export class FakeCluster {
  readonly store = new Map<string, string>();
  /** Every request any node received, in arrival order. */
  readonly log: RecordedRequest[] = [];
  /** How many times a write was applied (not answered from the session table). */
  applications = 0;
  /** Most writes the leader was applying at once. */
  maxWritesInFlight = 0;
  term = 3;
  retryAfterSeconds = 1;
  /** Members /admin/cluster reports as unreachable, beside the live ones. */
  readonly unreachableMembers: string[] = [];
  private index = 0;
  private writesInFlight = 0;
  private readonly sessions = new Map<string, Session>();
  private readonly nodes = new Map<string, FakeNode>();
  private readonly deadServers: string[] = [];

  private constructor(public leaderId: string | null) {}

  /** Starts one server per id; `modes` defaults every node but the leader to 'forward'. */
  static async start(ids: readonly string[], leaderId: string, modes: Record<string, NodeMode> = {}): Promise<FakeCluster> {
    const cluster = new FakeCluster(leaderId);
    for (const id of ids) {
      const server = http.createServer((req, res) => void cluster.handle(id, req, res));
      const node: FakeNode = { id, server, url: '', mode: modes[id] ?? (id === leaderId ? 'leader' : 'forward'), interceptors: [] };
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      node.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      cluster.nodes.set(id, node);
    }
    return cluster;
  }

  /** A URL where nothing listens: a port that was bound, then released. */
  static async deadUrl(): Promise<string> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return `http://127.0.0.1:${port}`;
  }

  url(id: string): string {
    return this.node(id).url;
  }

  setMode(id: string, mode: NodeMode): void {
    this.node(id).mode = mode;
  }

  /** The next /kv request to node `id` gets this reply instead of the normal one. */
  interceptOnce(id: string, interceptor: Interceptor): void {
    this.node(id).interceptors.push(interceptor);
  }

  /** Requests under /kv, in order (admin probes left out). */
  kvRequests(): RecordedRequest[] {
    return this.log.filter((r) => r.rawPath.startsWith('/kv'));
  }

  async close(): Promise<void> {
    for (const node of this.nodes.values()) {
      node.server.closeAllConnections();
      await new Promise<void>((resolve) => node.server.close(() => resolve()));
    }
  }

  private node(id: string): FakeNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no fake node ${id}`);
    return node;
  }

  private async handle(id: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const request: RecordedRequest = {
      node: id,
      method: req.method ?? 'GET',
      rawPath: req.url ?? '/',
      body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
      authorization: req.headers.authorization,
    };
    this.log.push(request);
    const node = this.node(id);
    const isAdmin = request.rawPath.startsWith('/admin/');
    // Scripted replies stand in for /kv answers only; admin probes pass through.
    const interceptor = isAdmin ? undefined : node.interceptors.shift();
    let reply: FakeReply;
    if (interceptor !== undefined) reply = await interceptor(request, this);
    else if (isAdmin) reply = this.admin(id, request);
    else if (node.mode === 'no-leader') reply = this.noLeader();
    else reply = await this.serve(request);
    // A relayed answer names the leader as the node that answered (as the real forwarder does).
    const answeredBy = node.mode === 'forward' && this.leaderId !== null && !isAdmin ? this.leaderId : id;
    res.writeHead(reply.status, {
      'content-type': 'application/json',
      'x-raft-node': answeredBy,
      'x-raft-leader': node.mode === 'no-leader' ? '' : (this.leaderId ?? ''),
      'x-raft-term': String(this.term),
      ...reply.headers,
    });
    res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
  }

  noLeader(): FakeReply {
    return {
      status: 503,
      body: { error: 'no_leader', message: 'no leader is known', leaderId: null },
      headers: { 'retry-after': String(this.retryAfterSeconds) },
    };
  }

  /** What the leader answers to a /kv request (SPEC 2), applying writes exactly once. */
  async serve(request: RecordedRequest): Promise<FakeReply> {
    const url = new URL(request.rawPath, 'http://fake');
    if (url.pathname === '/kv' && request.method === 'GET') {
      const prefix = url.searchParams.get('prefix') ?? '';
      const limit = Number(url.searchParams.get('limit') ?? '10000');
      const items = [...this.store.entries()]
        .filter(([key]) => key.startsWith(prefix))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .slice(0, limit)
        .map(([key, value]) => ({ key, value }));
      return { status: 200, body: { items, index: this.index } };
    }
    // The raw path keeps the key's encoding, so an encoded "/" stays inside the key segment.
    const match = /^\/kv\/([^/?]+)(\/append|\/cas)?$/.exec(url.pathname);
    if (match === null) return { status: 404, body: { error: 'not_found', message: `no route ${request.method} ${url.pathname}` } };
    const key = decodeURIComponent(match[1]!);
    const action = `${request.method} ${match[2] ?? ''}`;
    if (action === 'GET ') {
      const value = this.store.get(key);
      if (value === undefined) return { status: 404, body: { error: 'not_found', message: `key ${JSON.stringify(key)} not found` } };
      return { status: 200, body: { key, value, index: this.index } };
    }
    return this.applyWrite(key, action, request.body ?? {});
  }

  private async applyWrite(key: string, action: string, body: Record<string, unknown>): Promise<FakeReply> {
    const clientId = body.clientId as string | undefined;
    const seq = body.seq as number | undefined;
    this.writesInFlight += 1;
    this.maxWritesInFlight = Math.max(this.maxWritesInFlight, this.writesInFlight);
    try {
      // Yield a turn, as a real commit would: two writes sent at once would overlap here.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (clientId !== undefined && seq !== undefined) {
        const session = this.sessions.get(clientId);
        if (session !== undefined && seq === session.seq) return session.answer;
        if (session !== undefined && seq < session.seq) {
          return { status: 409, body: { error: 'stale_sequence', message: `seq ${seq} is below ${session.seq}` } };
        }
      }
      const answer = this.apply(key, action, body);
      if (clientId !== undefined && seq !== undefined) this.sessions.set(clientId, { seq, answer });
      return answer;
    } finally {
      this.writesInFlight -= 1;
    }
  }

  private apply(key: string, action: string, body: Record<string, unknown>): FakeReply {
    this.applications += 1;
    this.index += 1;
    const index = this.index;
    switch (action) {
      case 'PUT ':
        this.store.set(key, body.value as string);
        return { status: 200, body: { key, value: body.value, index } };
      case 'POST /append': {
        const value = (this.store.get(key) ?? '') + (body.value as string);
        this.store.set(key, value);
        return { status: 200, body: { key, value, index } };
      }
      case 'DELETE ': {
        const deleted = this.store.delete(key);
        return { status: 200, body: { key, deleted, index } };
      }
      case 'POST /cas': {
        const current = this.store.get(key) ?? null;
        if (current !== body.expected) return { status: 200, body: { key, succeeded: false, value: current, index } };
        this.store.set(key, body.value as string);
        return { status: 200, body: { key, succeeded: true, value: body.value, index } };
      }
      default:
        return { status: 404, body: { error: 'not_found', message: `no route ${action}` } };
    }
  }

  statusOf(id: string): Record<string, unknown> {
    const node = this.node(id);
    const leaderId = node.mode === 'no-leader' ? null : this.leaderId;
    return {
      id,
      role: id === this.leaderId ? 'leader' : 'follower',
      term: this.term,
      leaderId,
      votedFor: this.leaderId,
      commitIndex: this.index,
      lastApplied: this.index,
      lastLogIndex: this.index,
      lastLogTerm: this.term,
      snapshot: { index: 0, term: 0, bytes: 0 },
      wal: { segments: 1, bytes: 100, firstIndex: 1 },
      peers: [],
      keys: this.store.size,
      sessions: this.sessions.size,
      uptimeMs: 1000,
    };
  }

  private admin(id: string, request: RecordedRequest): FakeReply {
    const path = request.rawPath;
    if (request.method === 'GET' && path === '/admin/status') return { status: 200, body: this.statusOf(id) };
    if (request.method === 'GET' && path === '/admin/cluster') {
      const members: Record<string, unknown>[] = [...this.nodes.keys()].map((member) => ({
        ...this.statusOf(member),
        url: this.url(member),
        reachable: true,
        self: member === id,
      }));
      for (const member of this.unreachableMembers) members.push({ id: member, url: null, reachable: false, self: false, error: 'ECONNREFUSED' });
      return { status: 200, body: { nodeId: id, leaderId: this.leaderId, members } };
    }
    if (request.method === 'POST' && path === '/admin/snapshot') {
      return { status: 200, body: { index: this.index, term: this.term, bytes: 42 } };
    }
    if (request.method === 'POST' && path === '/admin/transfer-leadership') {
      if (id !== this.leaderId) return { status: 503, body: { error: 'no_leader', message: 'not the leader', leaderId: this.leaderId } };
      const to = (request.body?.to as string | undefined) ?? [...this.nodes.keys()].find((member) => member !== id)!;
      const from = this.leaderId;
      this.leaderId = to;
      for (const node of this.nodes.values()) node.mode = node.id === to ? 'leader' : 'forward';
      this.term += 1;
      return { status: 200, body: { from, to } };
    }
    return { status: 404, body: { error: 'not_found', message: `no route ${request.method} ${path}` } };
  }
}
