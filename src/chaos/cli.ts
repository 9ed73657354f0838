/**
 * `npm run chaos -- [flags]` (see chaos-options.ts): prints the seed first, runs the chaos
 * run on a private copy of the service build, with its live progress line on stderr, then
 * prints the report and the replay command.
 * Exit 0 on PASS, 5 on a violation (or a run that could not finish), 2 on a bad command line.
 */
import { randomInt } from 'node:crypto';
import { cp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT_DRILL_FAILED, EXIT_OK, EXIT_USAGE } from '../cli/exit-codes.js';
import { ChaosUsageError, parseChaosArgs, replayCommand, CHAOS_USAGE, type ChaosCommandLine } from './chaos-options.js';
import { formatChaosReport } from './chaos-report.js';
import { runChaos, type ChaosIo } from './run-chaos.js';
import { isMainModule } from '../cli/main-module.js';

export interface ChaosCliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean };
  readonly mainJs?: string;
}

/** Seeds drawn when none is given stay below 2^31, short enough to type back. */
const RANDOM_SEED_LIMIT = 2 ** 31;

export async function runChaosCli(argv: readonly string[], io: ChaosCliIo): Promise<number> {
  let line: ChaosCommandLine;
  try {
    line = parseChaosArgs(argv, { randomSeed: () => randomInt(RANDOM_SEED_LIMIT), now: () => new Date() });
  } catch (error) {
    if (!(error instanceof ChaosUsageError)) throw error;
    io.stderr.write(`chaos: usage error: ${error.message}\n${CHAOS_USAGE}\n`);
    return EXIT_USAGE;
  }
  if (line.kind === 'help') {
    io.stdout.write(`${line.text}\n`);
    return EXIT_OK;
  }
  const options = line.options;
  io.stdout.write(`chaos: seed ${options.seed} (replay: ${replayCommand(options)})\n`);
  const service = io.mainJs === undefined ? await copyServiceBuild() : { mainJs: io.mainJs, remove: async () => undefined };
  try {
    const chaosIo: ChaosIo = { progress: { write: (text) => io.stderr.write(text), isTTY: io.stderr.isTTY === true }, mainJs: service.mainJs };
    const report = await runChaos(options, chaosIo);
    io.stdout.write(formatChaosReport(report));
    return report.verdict === 'PASS' ? EXIT_OK : EXIT_DRILL_FAILED;
  } finally {
    await service.remove();
  }
}

/**
 * A private copy of the service build this CLI belongs to (dist/), made at the start: nodes are
 * restarted throughout a long run, and a rebuild of dist/ meanwhile (another `npm run build`)
 * must not change, or break, the code under test. The copy sits under build/, inside the
 * repository, so the nodes' package imports still resolve from its node_modules.
 */
async function copyServiceBuild(): Promise<{ mainJs: string; remove: () => Promise<void> }> {
  const distDir = join(dirname(fileURLToPath(import.meta.url)), '..');
  const copyDir = join(distDir, '..', 'build', `chaos-service-${process.pid}`);
  await cp(distDir, copyDir, { recursive: true, filter: (source) => !source.endsWith('.map') });
  return { mainJs: join(copyDir, 'main.js'), remove: () => rm(copyDir, { recursive: true, force: true }) };
}

if (isMainModule(import.meta.url)) {
  // Exit by running out of work, so output written to a pipe is flushed first.
  process.exitCode = await runChaosCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr });
}
