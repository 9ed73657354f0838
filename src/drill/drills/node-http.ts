/** Small reads and actions on one node's HTTP API (SPEC 3) that several drills share. */

const NODE_CALL_TIMEOUT_MS = 5000;

/**
 * One sample of a Prometheus text exposition, e.g. `raft_snapshots_total{kind="installed"}`;
 * null when the node does not answer or has no such series. A counter counts from the node's
 * start: a restarted node starts again from 0.
 */
export async function metricSample(nodeUrl: string, series: string): Promise<number | null> {
  try {
    const r = await fetch(`${nodeUrl}/metrics`, { signal: AbortSignal.timeout(NODE_CALL_TIMEOUT_MS) });
    if (!r.ok) return null;
    return sampleOf(await r.text(), series);
  } catch {
    return null;
  }
}

export function sampleOf(exposition: string, series: string): number | null {
  for (const line of exposition.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return null;
}

/** POST /admin/snapshot: the node snapshots now and compacts its log. */
export async function takeSnapshot(nodeUrl: string): Promise<{ index: number; term: number; bytes: number }> {
  const r = await fetch(`${nodeUrl}/admin/snapshot`, { method: 'POST', signal: AbortSignal.timeout(NODE_CALL_TIMEOUT_MS) });
  if (!r.ok) throw new Error(`POST /admin/snapshot on ${nodeUrl} answered ${r.status}: ${await r.text()}`);
  return (await r.json()) as { index: number; term: number; bytes: number };
}
