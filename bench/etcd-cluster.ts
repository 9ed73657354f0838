/**
 * A 3-member etcd cluster on loopback for the comparison (`--vs-etcd`), driven through its
 * grpc-gateway: `POST /v3/kv/put {key, value}` and `POST /v3/kv/range {key}` with base64 keys and
 * values; range is linearizable unless `serializable: true` (etcd's stale read). etcd fsyncs its
 * WAL by default, like raft-kv. etcd has no append, so that row is not run against it.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { freePorts, until, type BenchRun } from './processes.js';
import type { HttpRequestSpec, Member, Operation, Session, Target } from './targets.js';

const CLUSTER_SIZE = 3;
const READY_DEADLINE_MS = 30_000;

/** The etcd binary's path and version, or null when etcd is not installed. */
export function findEtcd(): { path: string; version: string } | null {
  try {
    const version = execFileSync('etcd', ['--version'], { encoding: 'utf8' }).split('\n')[0]?.trim() ?? 'etcd';
    const path = execFileSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' }).trim();
    return { path, version };
  } catch {
    return null;
  }
}

interface StatusAnswer {
  readonly header?: { readonly member_id?: string };
  readonly leader?: string;
}

export class EtcdCluster implements Target {
  readonly name = 'etcd';

  private constructor(readonly members: readonly Member[]) {}

  static async start(run: BenchRun, etcdPath: string): Promise<EtcdCluster> {
    const ports = await freePorts(2 * CLUSTER_SIZE);
    const names = Array.from({ length: CLUSTER_SIZE }, (_, i) => `etcd${i + 1}`);
    const peerUrl = (i: number) => `http://127.0.0.1:${ports[CLUSTER_SIZE + i]}`;
    const clientUrl = (i: number) => `http://127.0.0.1:${ports[i]}`;
    const initialCluster = names.map((n, i) => `${n}=${peerUrl(i)}`).join(',');
    const members = names.map((name, i): Member => {
      const args = [
        '--name', name,
        '--data-dir', join(run.dir, name),
        '--listen-client-urls', clientUrl(i),
        '--advertise-client-urls', clientUrl(i),
        '--listen-peer-urls', peerUrl(i),
        '--initial-advertise-peer-urls', peerUrl(i),
        '--initial-cluster', initialCluster,
        '--initial-cluster-token', `bench-${process.pid}`,
        '--initial-cluster-state', 'new',
      ];
      return { name, url: clientUrl(i), process: run.start(name, etcdPath, args) };
    });
    const cluster = new EtcdCluster(members);
    await until('3 healthy etcd members', READY_DEADLINE_MS, async () => {
      const healthy = await Promise.all(members.map(async (m) => {
        const r = await fetch(`${m.url}/health`, { signal: AbortSignal.timeout(1000) });
        return r.ok && ((await r.json()) as { health?: string }).health === 'true';
      }));
      return healthy.every(Boolean) ? true : undefined;
    }, () => cluster.describe());
    return cluster;
  }

  async leader(): Promise<Member> {
    return until('an etcd leader', READY_DEADLINE_MS, async () => {
      for (const m of this.members) {
        const r = await fetch(`${m.url}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) });
        if (!r.ok) continue;
        const status = (await r.json()) as StatusAnswer;
        if (status.leader !== undefined && status.leader === status.header?.member_id) return m;
      }
      return undefined;
    }, () => this.describe());
  }

  request(op: Operation, key: string, value: string, _session: Session | null): HttpRequestSpec | null {
    const key64 = Buffer.from(key).toString('base64');
    switch (op) {
      case 'put':
        return { method: 'POST', path: '/v3/kv/put', body: JSON.stringify({ key: key64, value: Buffer.from(value).toString('base64') }) };
      case 'get-linearizable':
        return { method: 'POST', path: '/v3/kv/range', body: JSON.stringify({ key: key64 }) };
      case 'get-stale':
        return { method: 'POST', path: '/v3/kv/range', body: JSON.stringify({ key: key64, serializable: true }) };
      case 'append':
        return null;
    }
  }

  describe(): string {
    return this.members.map((m) => `--- ${m.name} ${m.url}\n${m.process.logTail()}`).join('\n');
  }
}
