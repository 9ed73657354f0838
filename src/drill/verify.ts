/**
 * The drills' end check, once the load is stopped and every node has applied the final commit
 * index: each node's own state (stale reads, no leader involved) must hold every acknowledged
 * token exactly once and in its client's order, every acknowledged put, and nothing a client
 * never sent (SPEC 2 exactly-once, SPEC 6 no acknowledged write lost); and every node's state
 * must be the same (Raft fig. 3, state machine safety).
 */
import type { DrillLoad } from './load.js';
import type { DrillCluster } from './drill-cluster.js';
import { ownRounds, roundsByWriter, tokenIssues, describeTokenIssue, type TokenIssueKind } from './tokens.js';

/** Keys read back per node; a drill writing more must say so rather than check a prefix of them. */
const LISTING_LIMIT = 10_000;
const LISTING_TIMEOUT_MS = 10_000;
/** Problems spelled out in the report; the counts cover all of them. */
const PROBLEMS_SHOWN_MAX = 20;

export interface Verification {
  /** The commit index every node had applied when its state was read. */
  readonly commitIndex: number;
  readonly acknowledged: number;
  /** Acknowledged appends or puts missing on some node. */
  readonly lost: number;
  /** Tokens applied twice on some node (a retried write applied again). */
  readonly duplicated: number;
  readonly outOfOrder: number;
  readonly neverSent: number;
  readonly statesEqual: boolean;
  readonly problems: readonly string[];
}

export async function staleListing(nodeUrl: string, prefix: string): Promise<Map<string, string>> {
  const r = await fetch(`${nodeUrl}/kv?prefix=${encodeURIComponent(prefix)}&limit=${LISTING_LIMIT}&consistency=stale`, { signal: AbortSignal.timeout(LISTING_TIMEOUT_MS) });
  if (r.status !== 200) throw new Error(`GET /kv?prefix=${prefix} on ${nodeUrl} answered ${r.status}: ${await r.text()}`);
  const items = ((await r.json()) as { items: { key: string; value: string }[] }).items;
  if (items.length >= LISTING_LIMIT) throw new Error(`the listing of ${prefix} on ${nodeUrl} reached ${LISTING_LIMIT} keys: too many to verify`);
  return new Map(items.map((i) => [i.key, i.value]));
}

/**
 * Everything the load wrote on one node, read as one listing per client's puts (and one for
 * the rest), so each listing stays under the server's limit however long the drill ran.
 */
async function readLoadState(nodeUrl: string, load: DrillLoad): Promise<Map<string, string>> {
  const prefixes = [load.keys.shared, load.keys.ownPrefix, ...load.writers.map((w) => `${load.keys.putPrefix}${w.id}/`)];
  const listings = await Promise.all(prefixes.map((prefix) => staleListing(nodeUrl, prefix)));
  return new Map(listings.flatMap((listing) => [...listing]));
}

/** Checks the running nodes' states; the load must be stopped. */
export async function verifyCluster(cluster: DrillCluster, load: DrillLoad, deadlineMs: number): Promise<Verification> {
  const commitIndex = await cluster.waitForAllApplied(deadlineMs);
  const nodes = cluster.nodes.filter((n) => n.running);
  const states = await Promise.all(nodes.map(async (n) => ({ id: n.id, state: await readLoadState(n.url, load) })));
  return judgeLoadStates(states, load, commitIndex);
}

/** One node's copy of the keys the load wrote. */
export interface NodeLoadState {
  readonly id: string;
  readonly state: ReadonlyMap<string, string>;
}

/** What the load sent and had acknowledged: the other input of the judgement. */
export type LoadRecord = Pick<DrillLoad, 'keys' | 'writers' | 'acks'>;

/**
 * The judgement itself, pure: every node's state against the load's record, and the nodes
 * against each other. `commitIndex` is only carried into the result.
 */
export function judgeLoadStates(states: readonly NodeLoadState[], load: LoadRecord, commitIndex: number): Verification {
  if (states.length === 0) throw new Error('no node state to verify');
  const nodes = states.map((s) => ({ id: s.id }));
  const counts: Record<TokenIssueKind, number> = { duplicate: 0, 'out-of-order': 0, 'never-sent': 0, lost: 0 };
  const problems: string[] = [];
  const problem = (text: string): void => {
    problems.push(text);
  };

  const reference = states[0]!.state;
  let statesEqual = true;
  for (const [i, { state }] of states.entries()) {
    const differing = [...new Set([...reference.keys(), ...state.keys()])].filter((key) => reference.get(key) !== state.get(key));
    if (differing.length > 0) {
      statesEqual = false;
      problem(`${nodes[i]!.id} differs from ${nodes[0]!.id} on ${differing.length} keys, e.g. ${JSON.stringify(differing[0])}`);
    }
  }

  for (const [i, { state }] of states.entries()) {
    const node = nodes[i]!.id;
    const shared = roundsByWriter(state.get(load.keys.shared) ?? '');
    if (shared === null) {
      problem(`${node}: ${load.keys.shared} holds an unreadable token`);
      continue;
    }
    for (const id of shared.keys()) if (!load.writers.some((w) => w.id === id)) problem(`${node}: ${load.keys.shared} holds a token of unknown client ${id}`);
    for (const w of load.writers) {
      const own = ownRounds(state.get(w.ownKey) ?? '');
      if (own === null) {
        problem(`${node}: ${w.ownKey} holds an unreadable token`);
        continue;
      }
      const checks = [
        { key: load.keys.shared, found: shared.get(w.id) ?? [], sent: w.sharedSent, acked: w.ackedShared },
        { key: w.ownKey, found: own, sent: w.ownSent, acked: w.ackedOwn },
      ];
      for (const check of checks) {
        for (const issue of tokenIssues(check.found, check.sent, check.acked)) {
          counts[issue.kind]++;
          problem(`${node}: ${check.key}: ${w.id} ${describeTokenIssue(issue, check.sent)}`);
        }
      }
      for (const [key, value] of w.ackedPuts) {
        if (state.get(key) !== value) {
          counts.lost++;
          problem(`${node}: acknowledged put ${key}=${value} reads ${JSON.stringify(state.get(key) ?? null)}`);
        }
      }
    }
  }
  const shown = problems.slice(0, PROBLEMS_SHOWN_MAX);
  if (problems.length > shown.length) shown.push(`... and ${problems.length - shown.length} more`);
  return {
    commitIndex,
    acknowledged: load.acks,
    lost: counts.lost,
    duplicated: counts.duplicate,
    outOfOrder: counts['out-of-order'],
    neverSent: counts['never-sent'],
    statesEqual,
    problems: shown,
  };
}
