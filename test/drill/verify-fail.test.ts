/**
 * The FAIL path of the drill machinery, without a cluster: node states in which an acknowledged
 * token is missing and a retried one was applied twice go through the same judgement, findings
 * and report as a real run, and `kvctl drill` must print FAIL, name the violations and exit 5.
 * The violations are injected at the verification's input (what the nodes hold), not by
 * changing the product.
 */
import { describe, expect, it } from '@jest/globals';
import { runDrillCommand } from '../../src/cli/drill-command.js';
import { EXIT_DRILL_FAILED, EXIT_OK, EXIT_UNREACHABLE } from '../../src/cli/exit-codes.js';
import { freePorts } from '../../src/drill/free-ports.js';
import { DrillLoad } from '../../src/drill/load.js';
import { type DrillReport, verdictOf } from '../../src/drill/report.js';
import { runDrill, verificationFindings } from '../../src/drill/run-drill.js';
import { judgeLoadStates, type NodeLoadState } from '../../src/drill/verify.js';

/** Two writers; c1 sent and had acknowledged rounds 1-3, c2 rounds 1-2, one put each. */
function loadRecord(): DrillLoad {
  const load = new DrillLoad(['http://127.0.0.1:9'], { writers: 2, prefix: 'drill/t/', requestTimeoutMs: 1000, retryBudgetMs: 1000 });
  const [c1, c2] = load.writers;
  for (const [w, rounds] of [[c1!, 3], [c2!, 2]] as const) {
    w.sharedSent = rounds;
    w.ownSent = rounds;
    for (let k = 1; k <= rounds; k++) {
      w.ackedShared.add(k);
      w.ackedOwn.add(k);
    }
    w.ackedPuts.set(`drill/t/put/${w.id}/1`, 'v1');
    w.acks = 2 * rounds + 1;
  }
  return load;
}

/** A node holding exactly what was acknowledged. */
function goodState(): Map<string, string> {
  return new Map([
    ['drill/t/shared', 'drill-c1.1;drill-c2.1;drill-c1.2;drill-c2.2;drill-c1.3;'],
    ['drill/t/own/drill-c1', '1;2;3;'],
    ['drill/t/own/drill-c2', '1;2;'],
    ['drill/t/put/drill-c1/1', 'v1'],
    ['drill/t/put/drill-c2/1', 'v1'],
  ]);
}

function badStates(): NodeLoadState[] {
  const bad = goodState();
  // c1's acknowledged round 3 is missing from the shared key; c2's round 2 was applied twice.
  bad.set('drill/t/shared', 'drill-c1.1;drill-c2.1;drill-c1.2;drill-c2.2;');
  bad.set('drill/t/own/drill-c2', '1;2;2;');
  return [
    { id: 'n1', state: goodState() },
    { id: 'n2', state: bad },
  ];
}

function reportOf(states: NodeLoadState[]): DrillReport {
  const verification = judgeLoadStates(states, loadRecord(), 42);
  const findings = verificationFindings(verification, 1, 0, 120, states.length);
  return { drill: 'crash-follower', nodes: states.length, cluster: 'none (injected states)', seconds: 1, verdict: verdictOf(findings.checks), ...findings, elapsedMs: 1 };
}

function capture(): { text: () => string; write: (t: string) => boolean } {
  let text = '';
  return { text: () => text, write: (t: string) => ((text += t), true) };
}

describe('drill verification, FAIL path', () => {
  it('judges states holding every acknowledged token once as clean', () => {
    const verification = judgeLoadStates([{ id: 'n1', state: goodState() }, { id: 'n2', state: goodState() }], loadRecord(), 42);
    expect(verification).toMatchObject({ lost: 0, duplicated: 0, outOfOrder: 0, neverSent: 0, statesEqual: true, problems: [], acknowledged: 12 });
  });

  it('counts a missing acknowledged token as lost and a doubled one as applied twice, naming node, key and client', () => {
    const verification = judgeLoadStates(badStates(), loadRecord(), 42);
    expect(verification.lost).toBe(1);
    expect(verification.duplicated).toBe(1);
    expect(verification.statesEqual).toBe(false);
    expect(verification.problems).toEqual(
      expect.arrayContaining([
        'n2: drill/t/shared: drill-c1 acknowledged round 3 is missing',
        'n2: drill/t/own/drill-c2: drill-c2 round 2 applied twice',
        expect.stringMatching(/^n2 differs from n1 on 2 keys/),
      ]),
    );
  });

  it('kvctl drill prints FAIL with the failed checks and the problems, and exits 5', async () => {
    const stdout = capture();
    const stderr = capture();
    const report = reportOf(badStates());
    const code = await runDrillCommand({ drill: 'crash-follower', nodes: 3, seconds: 1 }, false, { stdout, stderr, runDrill: async () => report });
    expect(code).toBe(EXIT_DRILL_FAILED);
    expect(code).toBe(5);
    const text = stdout.text();
    expect(text).toMatch(/no acknowledged write lost\s+FAILED\s+1 lost of 12/);
    expect(text).toMatch(/no write applied twice\s+FAILED\s+1 applied twice/);
    expect(text).toMatch(/every node holds the same state\s+FAILED/);
    expect(text).toContain('  n2: drill/t/shared: drill-c1 acknowledged round 3 is missing');
    expect(text).toMatch(/verdict: FAIL\n$/);

    const json = capture();
    expect(await runDrillCommand({ drill: 'crash-follower', nodes: 3, seconds: 1 }, true, { stdout: json, stderr, runDrill: async () => report })).toBe(5);
    expect((JSON.parse(json.text()) as DrillReport).verdict).toBe('FAIL');
  });

  it('the same wiring exits 0 on clean states (the FAIL above comes from the states)', async () => {
    const report = reportOf([{ id: 'n1', state: goodState() }, { id: 'n2', state: goodState() }]);
    const stdout = capture();
    expect(await runDrillCommand({ drill: 'crash-follower', nodes: 3, seconds: 1 }, false, { stdout, stderr: capture(), runDrill: async () => report })).toBe(EXIT_OK);
    expect(stdout.text()).toMatch(/verdict: PASS\n$/);
  });

  it('--existing with no control API answering exits 4 and names the url, having done nothing', async () => {
    const [port] = await freePorts(1);
    const stderr = capture();
    const stdout = capture();
    const code = await runDrillCommand({ drill: 'crash-follower', nodes: 3, seconds: 1, control: `http://127.0.0.1:${port}` }, false, { stdout, stderr, runDrill });
    expect(code).toBe(EXIT_UNREACHABLE);
    expect(stderr.text()).toContain(`no cluster control API at http://127.0.0.1:${port}`);
    expect(stdout.text()).toBe('');
  });
});
