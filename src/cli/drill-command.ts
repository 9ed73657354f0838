/**
 * `kvctl drill NAME`: runs a recovery drill on a local cluster it starts from the service
 * build beside kvctl (dist/main.js), prints the live progress line on stderr, then the report
 * (a table, or JSON with --json) on stdout. Exit 0 on PASS, 5 on FAIL.
 */
import { runDrill } from '../drill/run-drill.js';
import { formatReport, type ProgressSink } from '../drill/report.js';
import type { Output } from './execute.js';
import { EXIT_DRILL_FAILED, EXIT_OK, type ExitCode } from './exit-codes.js';

export interface DrillCommandIo {
  readonly stdout: Output;
  readonly stderr: Output & { readonly isTTY?: boolean };
  /** The service entry point; default dist/main.js beside kvctl. */
  readonly mainJs?: string;
}

export async function runDrillCommand(command: { drill: string; nodes: number; seconds: number }, json: boolean, io: DrillCommandIo): Promise<ExitCode> {
  const progress: ProgressSink = { write: (text) => io.stderr.write(text), isTTY: io.stderr.isTTY === true };
  const report = await runDrill({ drill: command.drill, nodes: command.nodes, seconds: command.seconds, progress, ...(io.mainJs === undefined ? {} : { mainJs: io.mainJs }) });
  io.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.verdict === 'PASS' ? EXIT_OK : EXIT_DRILL_FAILED;
}
