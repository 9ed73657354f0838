/**
 * A real cluster for end-to-end tests: N `node main.js` processes on free loopback ports, each
 * with its own data directory under one temp dir. Nodes can be SIGKILLed and restarted on the
 * same port and data dir. Every node's output is kept, to explain a failure.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './build.js';
import { freePorts } from '../../../src/drill/free-ports.js';
import { until } from './poll.js';
import { envWithoutRaftVariables, spawnNodeProcess, type Exit } from '../../../src/drill/node-process.js';
import { DrillNode } from '../../../src/drill/process-cluster.js';

/** Lines of output kept per node (the tail is what explains a failure). */
const STOP_DEADLINE_MS = 15_000;

export interface NodeStatusView {
  id: string;
  role: string;
  term: number;
  leaderId: string | null;
  commitIndex: number;
  lastApplied: number;
  lastLogIndex: number;
  snapshot: { index: number; term: number; bytes: number };
  wal: { segments: number; bytes: number; firstIndex: number };
  keys: number;
}

export interface ClusterOptions {
  readonly size?: number;
  readonly clusterToken?: string;
  /** Extra flags for every node. */
  readonly flags?: readonly string[];
}

export type { Exit } from '../../../src/drill/node-process.js';

/** A drill node that also knows which output lines its current process wrote. */
export class ClusterNode extends DrillNode {
  /** Lines recorded since the first start, and the count when the current process started. */
  private linesRecorded = 0;
  private linesAtStart = 0;

  override record(line: string): void {
    super.record(line);
    this.linesRecorded++;
  }

  /** Marks the start of a new process: outputSinceStart() begins here. */
  markStart(): void {
    this.linesAtStart = this.linesRecorded;
  }

  /** The kept lines written by the current (or last) process only. */
  outputSinceStart(): string[] {
    const sinceStart = this.linesRecorded - this.linesAtStart;
    return this.output.slice(Math.max(0, this.output.length - sinceStart));
  }
}

export class LocalCluster {
  private constructor(
    readonly mainJs: string,
    readonly rootDir: string,
    readonly nodes: readonly ClusterNode[],
  ) {}

  static async start(mainJs: string, options: ClusterOptions = {}): Promise<LocalCluster> {
    const size = options.size ?? 3;
    const rootDir = await mkdtemp(join(tmpdir(), 'raft-kv-e2e-'));
    const ports = await freePorts(size);
    const ids = ports.map((_, i) => `n${i + 1}`);
    const nodes = ids.map((id, i) => {
      const peers = ids.flatMap((other, j) => (j === i ? [] : [`${other}=http://127.0.0.1:${ports[j]}`])).join(',');
      const dataDir = join(rootDir, id);
      const args = ['--id', id, '--host', '127.0.0.1', '--port', String(ports[i]), '--data-dir', dataDir];
      if (peers !== '') args.push('--peers', peers);
      if (options.clusterToken !== undefined) args.push('--cluster-token', options.clusterToken);
      args.push(...(options.flags ?? []));
      return new ClusterNode(id, ports[i]!, dataDir, args);
    });
    const cluster = new LocalCluster(mainJs, rootDir, nodes);
    for (const node of nodes) cluster.spawn(node);
    return cluster;
  }

  node(id: string): ClusterNode {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  /** Starts `main.js` with arbitrary arguments (e.g. a second process on a data dir in use). */
  runOnce(args: readonly string[], deadlineMs: number): Promise<Exit & { output: string; stderr: string }> {
    const child = spawn(process.execPath, [this.mainJs, ...args], { cwd: REPO_ROOT, env: envWithoutRaftVariables(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      stderr += chunk.toString();
    });
    return new Promise((resolve, reject) => {
      const deadline = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`main.js ${args.join(' ')} did not exit within ${deadlineMs} ms; output:\n${output}`));
      }, deadlineMs);
      child.on('exit', (code: number | null, signal: NodeJS.Signals | null) => {
        clearTimeout(deadline);
        resolve({ code, signal, output, stderr });
      });
    });
  }

  /** Restarts a stopped node with its port and data dir. */
  restart(id: string): void {
    const node = this.node(id);
    if (node.running) throw new Error(`${id} is still running`);
    this.spawn(node);
  }

  async kill(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    const node = this.node(id);
    if (node.child === null) throw new Error(`${id} is not running`);
    node.child.kill(signal);
    return node.exited;
  }

  /** One node's status, or null when it does not answer (stopped, starting, too slow). */
  async status(id: string, timeoutMs = 1000): Promise<NodeStatusView | null> {
    try {
      const r = await fetch(`${this.node(id).url}/admin/status`, { signal: AbortSignal.timeout(timeoutMs) });
      return r.ok ? ((await r.json()) as NodeStatusView) : null;
    } catch {
      return null;
    }
  }

  /** Statuses of the running nodes that answer (a node still starting is left out). */
  async statuses(timeoutMs = 1000): Promise<NodeStatusView[]> {
    const answers = await Promise.all(this.nodes.filter((n) => n.running).map((n) => this.status(n.id, timeoutMs)));
    return answers.filter((s): s is NodeStatusView => s !== null);
  }

  /**
   * Waits until every running node answers and names the same leader, which itself reports
   * being leader in that term (and a term above `termAbove`, to wait for a new election).
   */
  async waitForLeader(deadlineMs: number, termAbove = 0): Promise<{ id: string; term: number }> {
    const running = () => this.nodes.filter((n) => n.running).length;
    return until(
      `a leader agreed by every running node (term > ${termAbove})`,
      deadlineMs,
      async () => {
        const statuses = await this.statuses();
        if (statuses.length < running()) return undefined;
        const leader = statuses.find((s) => s.role === 'leader' && s.term > termAbove);
        if (leader === undefined) return undefined;
        const agreed = statuses.every((s) => s.leaderId === leader.id && s.term === leader.term);
        return agreed ? { id: leader.id, term: leader.term } : undefined;
      },
      { describe: () => this.describe() },
    );
  }

  /** Stops every node with SIGTERM (SIGKILL past a deadline) and removes the data. */
  async destroy(): Promise<void> {
    await Promise.all(
      this.nodes.filter((n) => n.child !== null).map(async (n) => {
        const child = n.child!;
        child.kill('SIGTERM');
        const deadline = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
        await n.exited;
        clearTimeout(deadline);
      }),
    );
    await rm(this.rootDir, { recursive: true, force: true });
  }

  /** The tail of every node's output, for a failure message. */
  describe(linesPerNode = 40): string {
    return this.nodes
      .map((n) => `--- ${n.id} (${n.running ? 'running' : 'stopped'}) ${n.url}\n${n.output.slice(-linesPerNode).join('\n')}`)
      .join('\n');
  }

  private spawn(node: ClusterNode): void {
    node.markStart();
    const { child, exited } = spawnNodeProcess(this.mainJs, node.args, REPO_ROOT, (line) => node.record(line));
    node.child = child;
    node.exited = exited;
    void exited.then(() => {
      if (node.child === child) node.child = null;
    });
  }
}

export { freePorts } from '../../../src/drill/free-ports.js';
