/**
 * A local cluster of real `node main.js` processes for the drills: N nodes on free loopback
 * ports, data under one temp dir, and every directed peer link (A dialing B) going through a
 * LinkProxy the drill controls, since a node dials a peer at exactly its `--peers` url.
 * Nodes can be SIGKILLed, SIGSTOPped, SIGCONTed and restarted on the same port and data dir.
 * Cleanup (processes, proxies, data) runs on destroy(), and also when the drill process is
 * interrupted (Ctrl-C) or exits, so no node outlives its drill.
 *
 * With `dataDir` and `ports` given (what `npm start` does, see scripts/start.mjs) the cluster is
 * the user's: fixed ports, data kept across runs and never removed, and the caller owns Ctrl-C.
 */
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePorts } from './free-ports.js';
import { LinkProxy } from './link-proxy.js';
import { spawnNodeProcess, type Exit } from './node-process.js';
import { ClusterStatusReader, type DrillCluster } from './drill-cluster.js';

/** Lines of output kept per node (the tail is what explains a failure). */
const OUTPUT_LINES_KEPT = 300;
const STOP_DEADLINE_MS = 10_000;

export type { NodeStatus } from './drill-cluster.js';

export interface ProcessClusterOptions {
  readonly nodes: number;
  /** The service entry point; default `main.js` beside this folder (dist/main.js). */
  readonly mainJs?: string;
  /** Extra flags for every node. */
  readonly flags?: readonly string[];
  /**
   * The nodes' client ports; default: free ones. Given, with `dataDir`, for a cluster that
   * outlives a run (`npm start`).
   */
  readonly ports?: readonly number[];
  /**
   * Node data goes under `<dataDir>/<id>` and is kept: never removed, not even by destroy(), and
   * no interrupt hook is installed (the caller stops the cluster on Ctrl-C). Default: a new
   * temp dir, removed on destroy() or interrupt.
   */
  readonly dataDir?: string;
  /** Also hands every line a node prints to this (the node's id first). */
  readonly onOutput?: (id: string, line: string) => void;
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

export class ProcessCluster extends ClusterStatusReader implements DrillCluster {
  private constructor(
    readonly mainJs: string,
    readonly rootDir: string,
    readonly nodes: readonly DrillNode[],
    /** links.get(from).get(to): the proxy `from` dials to reach `to`. */
    private readonly links: ReadonlyMap<string, ReadonlyMap<string, LinkProxy>>,
    /** The data is the user's (options.dataDir): never removed. */
    private readonly keepData: boolean,
    private readonly onOutput: ((id: string, line: string) => void) | undefined,
  ) {
    super();
  }

  static async start(options: ProcessClusterOptions): Promise<ProcessCluster> {
    const mainJs = options.mainJs ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'main.js');
    if (options.ports !== undefined && options.ports.length !== options.nodes) throw new RangeError(`${options.nodes} nodes but ${options.ports.length} ports`);
    const keepData = options.dataDir !== undefined;
    let rootDir: string;
    if (options.dataDir === undefined) {
      installExitHooks();
      rootDir = await mkdtemp(join(tmpdir(), 'raft-kv-drill-'));
      startingDirs.add(rootDir);
    } else {
      rootDir = resolve(options.dataDir);
    }
    const ports = options.ports ?? (await freePorts(options.nodes));
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
    const cluster = new ProcessCluster(mainJs, rootDir, nodes, links, keepData, options.onOutput);
    if (!keepData) live.add(cluster);
    startingDirs.delete(rootDir);
    for (const node of nodes) cluster.spawn(node);
    return cluster;
  }

  override node(id: string): DrillNode {
    return super.node(id) as DrillNode;
  }

  get where(): string {
    return `local processes, data under ${this.rootDir}`;
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

  /** Stops every node with SIGTERM (SIGKILL past a deadline), closes the proxies, removes the data (unless it is kept). */
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
    if (!this.keepData) await rm(this.rootDir, { recursive: true, force: true });
  }

  /** Synchronous last resort on interrupt or exit: SIGKILL every node, remove the data. */
  destroyNow(): void {
    live.delete(this);
    for (const node of this.nodes) node.child?.kill('SIGKILL');
    if (!this.keepData) rmSync(this.rootDir, { recursive: true, force: true });
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
    const { child, exited } = spawnNodeProcess(this.mainJs, node.args, this.rootDir, (line) => {
      node.record(line);
      this.onOutput?.(node.id, line);
    });
    node.child = child;
    node.paused = false;
    node.exited = exited;
    void exited.then(() => {
      if (node.child === child) node.child = null;
    });
  }
}
