/**
 * MetricsService (the API the consensus host records into) and `GET /metrics` (SPEC 3):
 * Prometheus text with term, role, indexes, proposals, fsync latency, entries per fsync,
 * request latency by route pattern and status, snapshots, leader changes, process metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { MetricsService } from '../../src/metrics/metrics.service.js';
import { call, startTestNode, type TestNode } from '../http/helpers/test-node.js';
import { FakeKvNode } from '../http/helpers/fake-kv-node.js';

/** The value of one sample line, e.g. `raft_term 7` or `raft_role{role="leader"} 1`. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

describe('MetricsService', () => {
  it('records what the host reports and reads the gauges from the status at scrape time', async () => {
    const metrics = new MetricsService();
    metrics.observeFsyncSeconds(0.002);
    metrics.observeFsyncSeconds(0.004);
    metrics.observeEntriesPerFsync(5);
    metrics.incProposals('committed');
    metrics.incProposals('committed');
    metrics.incProposals('failed');
    metrics.incSnapshots('taken');
    metrics.incSnapshots('installed');
    metrics.incLeaderChanges();
    metrics.observeRequestSeconds('/kv/:key', 'PUT', 200, 0.01);

    const node = new FakeKvNode('n1');
    node.term = 7;
    const put = { op: 'put', key: 'a', value: 'b' } as const;
    await node.write(put);
    const text = await metrics.render(node.status());

    expect(sample(text, 'raft_term')).toBe(7);
    expect(sample(text, 'raft_role{role="leader"}')).toBe(1);
    expect(sample(text, 'raft_role{role="follower"}')).toBe(0);
    expect(sample(text, 'raft_is_leader')).toBe(1);
    expect(sample(text, 'raft_commit_index')).toBe(1);
    expect(sample(text, 'raft_applied_index')).toBe(1);
    expect(sample(text, 'kv_keys')).toBe(1);
    expect(sample(text, 'raft_fsync_seconds_count')).toBe(2);
    expect(sample(text, 'raft_fsync_seconds_sum')).toBeCloseTo(0.006, 9);
    expect(sample(text, 'raft_fsync_seconds_bucket{le="0.0025"}')).toBe(1);
    expect(sample(text, 'raft_entries_per_fsync_sum')).toBe(5);
    expect(sample(text, 'raft_proposals_total{outcome="committed"}')).toBe(2);
    expect(sample(text, 'raft_proposals_total{outcome="failed"}')).toBe(1);
    expect(sample(text, 'raft_snapshots_total{kind="taken"}')).toBe(1);
    expect(sample(text, 'raft_snapshots_total{kind="installed"}')).toBe(1);
    expect(sample(text, 'raft_leader_changes_total')).toBe(1);
    expect(sample(text, 'http_request_duration_seconds_count{route="/kv/:key",method="PUT",status="200"}')).toBe(1);
    expect(text).toContain('process_cpu_user_seconds_total');

    node.follow('n2');
    node.term = 8;
    const later = await metrics.render(node.status());
    expect(sample(later, 'raft_role{role="leader"}')).toBe(0);
    expect(sample(later, 'raft_role{role="follower"}')).toBe(1);
    expect(sample(later, 'raft_term')).toBe(8);
  });

  it('two services (two nodes in one process) keep separate registries', async () => {
    const a = new MetricsService();
    const b = new MetricsService();
    a.incLeaderChanges();
    expect(sample(await a.render(null), 'raft_leader_changes_total')).toBe(1);
    expect(sample(await b.render(null), 'raft_leader_changes_total')).toBe(0);
  });
});

describe('GET /metrics', () => {
  let n: TestNode;
  beforeAll(async () => {
    n = await startTestNode('n1');
  });
  afterAll(async () => {
    await n.close();
  });

  it('serves Prometheus text with request latency labelled by route pattern, method and status', async () => {
    await call(`${n.url}/kv/one`, { method: 'PUT', body: { value: 'v' } });
    await call(`${n.url}/kv/two`, { method: 'PUT', body: { value: 'v' } });
    await call(`${n.url}/kv/absent`);
    await call(`${n.url}/kv/x/append`, { method: 'POST', body: { value: 'v' } });
    await call(`${n.url}/no/such/route`);
    n.node.term = 4;
    const r = await call(`${n.url}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(sample(r.text, 'raft_term')).toBe(4);
    expect(sample(r.text, 'raft_applied_index')).toBe(n.node.stateMachine.appliedIndex);
    expect(sample(r.text, 'http_request_duration_seconds_count{route="/kv/:key",method="PUT",status="200"}')).toBe(2);
    expect(sample(r.text, 'http_request_duration_seconds_count{route="/kv/:key",method="GET",status="404"}')).toBe(1);
    expect(sample(r.text, 'http_request_duration_seconds_count{route="/kv/:key/append",method="POST",status="200"}')).toBe(1);
    // Unknown paths share one label: a scanner cannot blow up the number of series.
    expect(sample(r.text, 'http_request_duration_seconds_count{route="unmatched",method="GET",status="404"}')).toBe(1);
  });
});
