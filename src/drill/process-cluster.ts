/**
 * A local cluster of real `node main.js` processes for the drills: N nodes on free loopback
 * ports, data under one temp dir, and every directed peer link (A dialing B) going through a
 * LinkProxy the drill controls, since a node dials a peer at exactly its `--peers` url.
 * Nodes can be SIGKILLed, SIGSTOPped, SIGCONTed and restarted on the same port and data dir.
 * Cleanup (processes, proxies, data) runs on destroy(), and also when the drill process is
 * interrupted (Ctrl-C) or exits, so no node outlives its drill.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from './free-ports.js';
import { LinkProxy } from './link-proxy.js';
import { spawnNodeProcess, type Exit } from './node-process.js';
import { until } from './poll.js';

/** Lines of output kept per node (the tail is what explains a failure). */
const OUTPUT_LINES_KEPT = 300;
const STOP_DEADLINE_MS = 10_000;
const STATUS_TIMEOUT_MS = 1000;

/** The fields of GET /admin/status (SPEC 3) the drills read. */
export interface NodeStatus {
  readonly id: string;
  readonly role: string;
  readonly term: number;
  readonly leaderId: string | null;
  readonly commitIndex: number;
  readonly lastApplied: number;
  readonly lastLogIndex: number;
  readonly snapshot: { readonly index: number; readonly term: number; readonly bytes: number };
}

export interface ProcessClusterOptions {
  readonly nodes: number;
  /** The service entry point; default `main.js` beside this folder (dist/main.js). */
  readonly mainJs?: string;
  /** Extra flags for every node. */
  readonly flags?: readonly string[];
}

export type { Exit } from './node-process.js';

export class DrillNode {
  child: ChildProcess | null = null;
  /** True between SIGSTOP and SIGCONT. */
  paused = false;
  exited: Promise<Exit> = Promise.resolve({ code: null, signal: null });
  readonly output: string[] = [];

  constructor(
    readonly id: string,
    readonly port: number,
    readonly dataDir: string,
    readonly args: readonly string[],
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  record(line: string): void {
    this.output.push(line);
    if (this.output.length > OUTPUT_LINES_KEPT) this.output.shift();
  }
}

/** Clusters not yet destroyed, killed outright if the drill process is interrupted or exits. */
const live = new Set<ProcessCluster>();
/** Data dirs created by a cluster still starting (not yet in `live`), removed on interrupt too. */
const startingDirs = new Set<string>();
let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  const cleanUp = (): void => {
    for (const cluster of live) cluster.destroyNow();
    for (const dir of startingDirs) rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', cleanUp);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanUp();
      // The conventional exit code of a process ended by this signal.
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
  }
}

export class ProcessCluster {
  private constructor(
    readonly mainJs: string,
    readonly rootDir: string,
    readonly nodes: readonly DrillNode[],
    /** links.get(from).get(to): the proxy `from` dials to reach `to`. */
    private readonly links: ReadonlyMap<string, ReadonlyMap<string, LinkProxy>>,
  ) {}

  static async start(options: ProcessClusterOptions): Promise<ProcessCluster> {
    const mainJs = options.mainJs ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'main.js');
    installExitHooks();
    const rootDir = await mkdtemp(join(tmpdir(), 'raft-kv-drill-'));
    startingDirs.add(rootDir);
    const ports = await freePorts(options.nodes);
    const ids = ports.map((_, i) => `n${i + 1}`);
    const links = new Map<string, Map<string, LinkProxy>>();
    for (const [i, from] of ids.entries()) {
      const out = new Map<string, LinkProxy>();
      for (const [j, to] of ids.entries()) if (i !== j) out.set(to, await LinkProxy.start({ targetHost: '127.0.0.1', targetPort: ports[j]! }));
      links.set(from, out);
    }
    const nodes = ids.map((id, i) => {
      const peers = [...links.get(id)!].map(([to, proxy]) => `${to}=${proxy.url}`).join(',');
      const dataDir = join(rootDir, id);
      const args = ['--id', id, '--host', '127.0.0.1', '--port', String(ports[i]), '--data-dir', dataDir];
      if (peers !== '') args.push('--peers', peers);
      args.push(...(options.flags ?? []));
      return new DrillNode(id, ports[i]!, dataDir, args);
    });
    const cluster = new ProcessCluster(mainJs, rootDir, nodes, links);
    live.add(cluster);
    startingDirs.delete(rootDir);
    for (const node of nodes) cluster.spawn(node);
    return cluster;
  }

  node(id: string): DrillNode {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  get endpoints(): string[] {
    return this.nodes.map((n) => n.url);
  }

  /** Sends a signal; SIGKILL and SIGTERM answer once the process has exited. */
  async kill(id: string, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<Exit> {
    const node = this.node(id);
    if (node.child === null) throw new Error(`${id} is not running`);
    node.child.kill(signal);
    // A stopped process does not act on SIGTERM until continued.
    if (node.paused && signal === 'SIGTERM') this.cont(id);
    return node.exited;
  }

  /** SIGSTOP: the process freezes, its sockets stay open (a long GC pause, a stalled VM). */
  stop(id: string): void {
    const node = this.node(id);
    if (node.child === null) throw new Error(`${id} is not running`);
    node.child.kill('SIGSTOP');
    node.paused = true;
  }

  cont(id: string): void {
    const node = this.node(id);
    if (node.child === null) throw new Error(`${id} is not running`);
    node.child.kill('SIGCONT');
    node.paused = false;
  }

  /**
   * Starts a stopped node again on its port and data dir. After a SIGKILL the node itself
   * waits for the data-dir lock it left behind to go stale (about 5 s) before it boots.
   */
  restart(id: string): void {
    const node = this.node(id);
    if (node.running) throw new Error(`${id} is still running`);
    this.spawn(node);
  }

  /** Cuts every link to and from `id`: it can reach no peer and no peer can reach it. */
  isolate(id: string): void {
    for (const proxy of this.linksOf(id)) proxy.cut();
  }

  /** Heals every link. */
  healAll(): void {
    for (const out of this.links.values()) for (const proxy of out.values()) proxy.heal();
  }

  /** Bytes `from` sent to `to` through their link so far. */
  bytesSent(from: string, to: string): number {
    return this.link(from, to).bytesForward;
  }

  link(from: string, to: string): LinkProxy {
    const proxy = this.links.get(from)?.get(to);
    if (proxy === undefined) throw new Error(`no link ${from} -> ${to}`);
    return proxy;
  }

  /** One node's status, or null when it does not answer (stopped, starting, too slow). */
  async status(id: string, timeoutMs = STATUS_TIMEOUT_MS): Promise<NodeStatus | null> {
    try {
      const r = await fetch(`${this.node(id).url}/admin/status`, { signal: AbortSignal.timeout(timeoutMs) });
      return r.ok ? ((await r.json()) as NodeStatus) : null;
    } catch {
      return null;
    }
  }

  /** Statuses of the given nodes (default: running and not paused) that answer. */
  async statuses(ids: readonly string[] = this.nodes.filter((n) => n.running && !n.paused).map((n) => n.id)): Promise<NodeStatus[]> {
    const answers = await Promise.all(ids.map((id) => this.status(id)));
    return answers.filter((s): s is NodeStatus => s !== null);
  }

  /**
   * The leader every one of `among` (default: running, unpaused nodes) names, itself leader in
   * that term, in a term above `termAbove`; null while there is none.
   */
  async agreedLeader(among?: readonly string[], termAbove = 0): Promise<{ id: string; term: number } | null> {
    const ids = among ?? this.nodes.filter((n) => n.running && !n.paused).map((n) => n.id);
    const statuses = await this.statuses(ids);
    if (statuses.length < ids.length) return null;
    const leader = statuses.find((s) => s.role === 'leader' && s.term > termAbove);
    if (leader === undefined) return null;
    return statuses.every((s) => s.leaderId === leader.id && s.term === leader.term) ? { id: leader.id, term: leader.term } : null;
  }

  async waitForLeader(deadlineMs: number, among?: readonly string[], termAbove = 0): Promise<{ id: string; term: number }> {
    return until(`a leader agreed by ${among?.join(', ') ?? 'every running node'} (term > ${termAbove})`, deadlineMs, async () => (await this.agreedLeader(among, termAbove)) ?? undefined, {
      intervalMs: 20,
      describe: () => this.describe(),
    });
  }

  /** Waits until every running node has applied the leader's commit index (read once). */
  async waitForAllApplied(deadlineMs: number): Promise<number> {
    const leader = await this.waitForLeader(deadlineMs);
    const commitIndex = (await this.status(leader.id))?.commitIndex ?? 0;
    const running = this.nodes.filter((n) => n.running).length;
    await until(`every node to apply up to ${commitIndex}`, deadlineMs, async () => {
      const statuses = await this.statuses();
      return statuses.length === running && statuses.every((s) => s.lastApplied >= commitIndex) ? true : undefined;
    }, { describe: () => this.describe() });
    return commitIndex;
  }

  /** Stops every node with SIGTERM (SIGKILL past a deadline), closes the proxies, removes the data. */
  async destroy(): Promise<void> {
    live.delete(this);
    await Promise.all(
      this.nodes.filter((n) => n.child !== null).map(async (n) => {
        const child = n.child!;
        child.kill('SIGTERM');
        if (n.paused) child.kill('SIGCONT');
        const deadline = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
        await n.exited;
        clearTimeout(deadline);
      }),
    );
    await Promise.all([...this.links.values()].flatMap((out) => [...out.values()].map((proxy) => proxy.close())));
    await rm(this.rootDir, { recursive: true, force: true });
  }

  /** Synchronous last resort on interrupt or exit: SIGKILL every node, remove the data. */
  destroyNow(): void {
    live.delete(this);
    for (const node of this.nodes) node.child?.kill('SIGKILL');
    rmSync(this.rootDir, { recursive: true, force: true });
  }

  /** The tail of every node's output, for a failure message. */
  describe(linesPerNode = 30): string {
    return this.nodes
      .map((n) => `--- ${n.id} (${n.running ? (n.paused ? 'paused' : 'running') : 'stopped'}) ${n.url}\n${n.output.slice(-linesPerNode).join('\n')}`)
      .join('\n');
  }

  private linksOf(id: string): LinkProxy[] {
    const proxies: LinkProxy[] = [];
    for (const [from, out] of this.links) for (const [to, proxy] of out) if (from === id || to === id) proxies.push(proxy);
    return proxies;
  }

  private spawn(node: DrillNode): void {
    const { child, exited } = spawnNodeProcess(this.mainJs, node.args, this.rootDir, (line) => node.record(line));
    node.child = child;
    node.paused = false;
    node.exited = exited;
    void exited.then(() => {
      if (node.child === child) node.child = null;
    });
  }
}
