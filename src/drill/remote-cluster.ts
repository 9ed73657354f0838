/**
 * A DrillCluster the drill did not start: the cluster `npm start` supervises, acted on through
 * its control API (control-server.ts). Status and leaders are read from the nodes themselves,
 * as for a local cluster. The node list is the supervisor's answer to the latest call.
 *
 * destroy() leaves the cluster as a drill found it, as far as it can: links healed, paused nodes
 * continued, stopped nodes restarted on their data. Nothing is ever deleted.
 */
import { ClusterStatusReader, type DrillCluster, type DrillNodeView, type Exit } from './drill-cluster.js';

/** A kill answers once the process exited; SIGTERM waits for the node to flush and release its lock. */
const CONTROL_TIMEOUT_MS = 20_000;

export const CONTROL_URL_DEFAULT = 'http://127.0.0.1:7000';

/** No supervisor answered at the control url: nothing was done. */
export class ControlUnreachableError extends Error {}

export class RemoteCluster extends ClusterStatusReader implements DrillCluster {
  private views: DrillNodeView[];

  private constructor(
    readonly controlUrl: string,
    views: DrillNodeView[],
  ) {
    super();
    this.views = views;
  }

  /** Reads the node list; fails with a clear message when no supervisor answers there. */
  static async connect(controlUrl: string): Promise<RemoteCluster> {
    const url = controlUrl.replace(/\/+$/, '');
    let answer: { nodes: DrillNodeView[] };
    try {
      answer = (await call(url, 'GET', '/cluster')) as { nodes: DrillNodeView[] };
    } catch (error) {
      throw new ControlUnreachableError(`no cluster control API at ${url} (is \`npm start\` running? its control API is on port 7000 by default): ${(error as Error).message}`);
    }
    return new RemoteCluster(url, answer.nodes);
  }

  get nodes(): readonly DrillNodeView[] {
    return this.views;
  }

  get where(): string {
    return `the running cluster (control API ${this.controlUrl})`;
  }

  async kill(id: string, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<Exit> {
    const answer = (await this.act(`/nodes/${encodeURIComponent(id)}/kill`, { signal })) as { exit: Exit };
    return answer.exit;
  }

  async stop(id: string): Promise<void> {
    await this.act(`/nodes/${encodeURIComponent(id)}/stop`);
  }

  async cont(id: string): Promise<void> {
    await this.act(`/nodes/${encodeURIComponent(id)}/cont`);
  }

  async restart(id: string): Promise<void> {
    await this.act(`/nodes/${encodeURIComponent(id)}/restart`);
  }

  async isolate(id: string): Promise<void> {
    await this.act(`/nodes/${encodeURIComponent(id)}/isolate`);
  }

  async healAll(): Promise<void> {
    await this.act('/heal');
  }

  async bytesSent(from: string, to: string): Promise<number> {
    const link = (await call(this.controlUrl, 'GET', `/links/${encodeURIComponent(from)}/${encodeURIComponent(to)}`)) as { bytesForward: number };
    return link.bytesForward;
  }

  /** The tail of a node's output, from the supervisor. */
  async output(id: string, lines: number): Promise<string[]> {
    return ((await call(this.controlUrl, 'GET', `/nodes/${encodeURIComponent(id)}/output?lines=${lines}`)) as { lines: string[] }).lines;
  }

  describe(): string {
    return this.views.map((n) => `--- ${n.id} (${n.running ? (n.paused ? 'paused' : 'running') : 'stopped'}) ${n.url}`).join('\n');
  }

  async destroy(): Promise<void> {
    await this.refresh();
    await this.healAll();
    for (const node of this.views) {
      if (node.paused) await this.cont(node.id);
      else if (!node.running) await this.restart(node.id);
    }
  }

  async refresh(): Promise<void> {
    this.views = ((await call(this.controlUrl, 'GET', '/cluster')) as { nodes: DrillNodeView[] }).nodes;
  }

  private async act(path: string, body: unknown = {}): Promise<unknown> {
    const answer = (await call(this.controlUrl, 'POST', path, body)) as { nodes: DrillNodeView[] };
    this.views = answer.nodes;
    return answer;
  }
}

async function call(controlUrl: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const r = await fetch(`${controlUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(CONTROL_TIMEOUT_MS),
  });
  const answer = (await r.json()) as { message?: string };
  if (!r.ok) throw new Error(`${method} ${path} on the control API answered ${r.status}: ${answer.message ?? JSON.stringify(answer)}`);
  return answer;
}
