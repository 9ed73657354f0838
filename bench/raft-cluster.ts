/**
 * A 3-node raft-kv cluster for the bench: `node dist/main.js` per node on free loopback ports,
 * fsync on (the default: no --unsafe-no-fsync), a fresh data dir each under the run directory.
 */
import { join } from 'node:path';
import { freePorts, until, type BenchRun } from './processes.js';
import { type HttpRequestSpec, type Member, type Operation, type Session, type Target } from './targets.js';
import { parseCounters, type NodeCounters } from './prom.js';

const CLUSTER_SIZE = 3;
const LEADER_DEADLINE_MS = 30_000;

interface StatusView {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly leaderId: string | null;
}

export class RaftKvCluster implements Target {
  readonly name = 'raft-kv';

  /** Replaced in place when a node restarts (same name, url and data dir). */
  private readonly nodes: Member[];

  private constructor(
    private readonly run: BenchRun,
    nodes: Member[],
    /** Each node's command line and environment, to start it again. */
    private readonly launches: Map<string, { readonly args: readonly string[]; readonly env: NodeJS.ProcessEnv }>,
  ) {
    this.nodes = nodes;
  }

  get members(): readonly Member[] {
    return this.nodes;
  }

  /** The directory holding every node's data dir. */
  get dataRoot(): string {
    return this.run.dir;
  }

  /** `nodeOptions`: NODE_OPTIONS for every node (null: the parent's environment minus RAFT_*). */
  static async start(run: BenchRun, mainJs: string, nodeOptions: string | null = null): Promise<RaftKvCluster> {
    const ports = await freePorts(CLUSTER_SIZE);
    const ids = ports.map((_, i) => `n${i + 1}`);
    const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('RAFT_')));
    if (nodeOptions !== null) env['NODE_OPTIONS'] = nodeOptions;
    const launches = new Map<string, { args: string[]; env: NodeJS.ProcessEnv }>();
    const members = ids.map((id, i): Member => {
      const peers = ids.flatMap((other, j) => (j === i ? [] : [`${other}=http://127.0.0.1:${ports[j]}`])).join(',');
      const args = [mainJs, '--id', id, '--host', '127.0.0.1', '--port', String(ports[i]), '--peers', peers, '--data-dir', join(run.dir, id)];
      launches.set(id, { args, env });
      return { name: id, url: `http://127.0.0.1:${ports[i]}`, process: run.start(id, process.execPath, args, env) };
    });
    const cluster = new RaftKvCluster(run, members, launches);
    await cluster.leader();
    return cluster;
  }

  /** Stops node `name` (SIGTERM, waits for its exit: it flushes and releases its data dir). */
  async stopNode(name: string): Promise<void> {
    await this.node(name).member.process.stop();
  }

  /** Stops every node and starts it again on its data dir with `extraArgs` added to its command line. */
  async restartAllWith(extraArgs: readonly string[]): Promise<void> {
    for (const member of this.members) {
      await this.stopNode(member.name);
      const launch = this.launches.get(member.name)!;
      this.launches.set(member.name, { ...launch, args: [...launch.args, ...extraArgs] });
      this.startNode(member.name);
    }
    await this.leader();
  }

  /** Starts a stopped node again, same command line and data dir; its Member is replaced. */
  startNode(name: string): Member {
    const { at, member } = this.node(name);
    if (member.process.running) throw new Error(`raft-kv node ${name} is still running`);
    const launch = this.launches.get(name)!;
    const started: Member = { ...member, process: this.run.start(name, process.execPath, launch.args, launch.env) };
    this.nodes[at] = started;
    return started;
  }

  private node(name: string): { at: number; member: Member } {
    const at = this.nodes.findIndex((m) => m.name === name);
    if (at < 0 || !this.launches.has(name)) throw new Error(`no raft-kv node ${name}`);
    return { at, member: this.nodes[at]! };
  }

  /** The leader that every member agrees on (waits for one). */
  async leader(): Promise<Member> {
    return until('a raft-kv leader agreed by all 3 nodes', LEADER_DEADLINE_MS, async () => {
      const statuses = await Promise.all(this.members.map((m) => getJson<StatusView>(`${m.url}/admin/status`)));
      const leader = statuses.find((s) => s.role === 'leader');
      if (leader === undefined || !statuses.every((s) => s.leaderId === leader.id && s.term === leader.term)) return undefined;
      return this.members.find((m) => m.name === leader.id);
    }, () => this.describe());
  }

  /** Keys in the leader's state machine. */
  async keyCount(): Promise<number> {
    const leader = await this.leader();
    return (await getJson<{ keys: number }>(`${leader.url}/admin/status`)).keys;
  }

  async counters(): Promise<NodeCounters[]> {
    return Promise.all(this.members.map(async (m) => {
      const r = await fetch(`${m.url}/metrics`, { signal: AbortSignal.timeout(5000) });
      if (!r.ok) throw new Error(`${m.name} /metrics answered ${r.status}`);
      return parseCounters(await r.text());
    }));
  }

  request(op: Operation, key: string, value: string, session: Session | null): HttpRequestSpec {
    const path = `/kv/${encodeURIComponent(key)}`;
    switch (op) {
      case 'put':
        return { method: 'PUT', path, body: JSON.stringify({ value, ...session }) };
      case 'append':
        return { method: 'POST', path: `${path}/append`, body: JSON.stringify({ value, ...session }) };
      case 'get-linearizable':
        return { method: 'GET', path: `${path}?consistency=linearizable` };
      case 'get-stale':
        return { method: 'GET', path: `${path}?consistency=stale` };
    }
  }

  describe(): string {
    return this.members.map((m) => `--- ${m.name} ${m.url}\n${m.process.logTail()}`).join('\n');
  }
}

async function getJson<T>(url: string): Promise<T> {
  const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
  if (!r.ok) throw new Error(`${url} answered ${r.status}`);
  return (await r.json()) as T;
}
