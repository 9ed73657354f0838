/**
 * The short chaos run CI keeps: 60 s on 3 real nodes behind link proxies, every fault kind, a
 * fixed seed. It must pass every check (linearizable history, exactly-once appends in each
 * client's order, identical node states), with real volume and at least one fault of each
 * kind, and leave its history and report on disk.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FAULT_KINDS } from '../../src/chaos/chaos-options.js';
import type { ChaosReport } from '../../src/chaos/chaos-report.js';
import { runChaos } from '../../src/chaos/run-chaos.js';
import { buildService } from '../e2e/helpers/build.js';

const SEED = 20_250_301;
const SECONDS = 60;
/** Far below what a quiet machine does (thousands); only a stalled workload falls under it. */
const OPS_FLOOR = 300;

let mainJs: string;

beforeAll(async () => {
  mainJs = await buildService();
}, 360_000);

describe('chaos run (CI length)', () => {
  it(
    `passes ${SECONDS} s on 3 nodes with every fault kind, seed ${SEED}`,
    async () => {
      const outDir = await mkdtemp(join(tmpdir(), 'raft-kv-chaos-'));
      try {
        const report: ChaosReport = await runChaos({ seconds: SECONDS, nodes: 3, faults: [...FAULT_KINDS], seed: SEED, clients: 6, keys: 5, outDir }, { progress: null, mainJs });
        // On failure, the report text (problems, faults, replay command) is in the message.
        if (report.verdict !== 'PASS') throw new Error(readFileSync(join(outDir, 'report.txt'), 'utf8'));
        expect(report.checks.filter((c) => !c.ok)).toEqual([]);
        expect(report.checks.length).toBeGreaterThan(0);
        expect(report.ops.acked).toBeGreaterThan(OPS_FLOOR);
        expect(FAULT_KINDS.filter((kind) => (report.faultsByKind[kind] ?? 0) === 0)).toEqual([]);
        expect(report.seed).toBe(SEED);
        expect(report.replay).toContain(`--seed ${SEED}`);
        const lines = readFileSync(join(outDir, 'history.jsonl'), 'utf8').trim().split('\n');
        expect(lines.length).toBe(report.ops.invoked);
        expect(JSON.parse(readFileSync(join(outDir, 'report.json'), 'utf8')) as ChaosReport).toMatchObject({ seed: SEED, verdict: 'PASS' });
        expect(existsSync(join(outDir, 'report.txt'))).toBe(true);
      } finally {
        await rm(outDir, { recursive: true, force: true });
      }
    },
    240_000,
  );
});
