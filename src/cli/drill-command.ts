/**
 * `kvctl drill NAME`: runs a recovery drill on a local cluster it starts from the service
 * build beside kvctl (dist/main.js), or with `--existing` on the cluster `npm start` runs
 * (through its control API, `--control URL`), prints the live progress line on stderr, then
 * the report (a table, or JSON with --json) on stdout. Exit 0 on PASS, 5 on FAIL, 4 when no
 * control API answers (nothing was done).
 */
import { type DrillOptions, runDrill } from '../drill/run-drill.js';
import { ControlUnreachableError } from '../drill/remote-cluster.js';
import { type DrillReport, formatReport, type ProgressSink } from '../drill/report.js';
import type { Output } from './execute.js';
import { EXIT_DRILL_FAILED, EXIT_OK, EXIT_UNREACHABLE, type ExitCode } from './exit-codes.js';

export interface DrillCommandIo {
  readonly stdout: Output;
  readonly stderr: Output & { readonly isTTY?: boolean };
  /** The service entry point; default dist/main.js beside kvctl. */
  readonly mainJs?: string;
  /** Runs the drill; default runDrill (tests give a runner whose report they know). */
  readonly runDrill?: (options: DrillOptions) => Promise<DrillReport>;
}

export interface DrillCommand {
  readonly drill: string;
  readonly nodes: number;
  readonly seconds: number;
  /** The control API of the running cluster; absent: the drill starts its own. */
  readonly control?: string;
}

export async function runDrillCommand(command: DrillCommand, json: boolean, io: DrillCommandIo): Promise<ExitCode> {
  const progress: ProgressSink = { write: (text) => io.stderr.write(text), isTTY: io.stderr.isTTY === true };
  const options: DrillOptions = {
    drill: command.drill,
    nodes: command.nodes,
    seconds: command.seconds,
    progress,
    ...(io.mainJs === undefined ? {} : { mainJs: io.mainJs }),
    ...(command.control === undefined ? {} : { existing: { controlUrl: command.control } }),
  };
  let report: DrillReport;
  try {
    report = await (io.runDrill ?? runDrill)(options);
  } catch (error) {
    if (!(error instanceof ControlUnreachableError)) throw error;
    io.stderr.write(`kvctl: drill: ${error.message}\n`);
    return EXIT_UNREACHABLE;
  }
  io.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.verdict === 'PASS' ? EXIT_OK : EXIT_DRILL_FAILED;
}
