/**
 * What a drill tells its operator: a live progress line on stderr while it runs (rewritten in
 * place on a terminal, one line per phase otherwise), then a report of measured figures and
 * checks, with a verdict: PASS only if every check held.
 */
import { formatTable } from '../cli/format.js';

export interface Figure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
}

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface DrillReport {
  readonly drill: string;
  readonly nodes: number;
  /** Which cluster it ran on: its own local processes, or the running one (`--existing`). */
  readonly cluster: string;
  readonly seconds: number;
  readonly verdict: 'PASS' | 'FAIL';
  readonly figures: readonly Figure[];
  readonly checks: readonly Check[];
  /** What went wrong, spelled out (empty on PASS). */
  readonly problems: readonly string[];
  readonly elapsedMs: number;
}

export interface ProgressSink {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

const REFRESH_MS = 250;

/** The live progress line: the phase, elapsed time, and whatever `status()` adds (acks, leader). */
export class Progress {
  private phaseText = 'starting';
  private readonly startedAt = performance.now();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly sink: ProgressSink | null,
    private readonly drill: string,
    private readonly status: () => string,
  ) {}

  start(): void {
    if (this.sink?.isTTY === true) {
      this.timer = setInterval(() => this.draw(), REFRESH_MS);
      // The progress line must never keep the drill process alive.
      this.timer.unref();
    }
  }

  phase(text: string): void {
    this.phaseText = text;
    if (this.sink === null) return;
    if (this.sink.isTTY === true) this.draw();
    else this.sink.write(`${this.line()}\n`);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.sink?.isTTY === true) this.sink.write('\n');
  }

  private line(): string {
    const seconds = ((performance.now() - this.startedAt) / 1000).toFixed(1);
    return `[${this.drill} ${seconds}s] ${this.phaseText} | ${this.status()}`;
  }

  private draw(): void {
    // \x1b[2K clears the line, so a shorter line leaves no leftovers.
    this.sink?.write(`\r\x1b[2K${this.line()}`);
  }
}

/** PASS only if there was something to check and every check held. */
export function verdictOf(checks: readonly Check[]): 'PASS' | 'FAIL' {
  return checks.length > 0 && checks.every((c) => c.ok) ? 'PASS' : 'FAIL';
}

export function formatReport(report: DrillReport): string {
  const figures = formatTable(
    ['FIGURE', 'VALUE'],
    report.figures.map((f) => [f.name, `${Number.isInteger(f.value) ? f.value : f.value.toFixed(1)}${f.unit === '' ? '' : ` ${f.unit}`}`]),
  );
  const checks = formatTable(['CHECK', 'RESULT', 'DETAIL'], report.checks.map((c) => [c.name, c.ok ? 'ok' : 'FAILED', c.detail]));
  const lines = [
    `drill ${report.drill} on ${report.nodes} nodes (${report.seconds} s of load per phase), ${(report.elapsedMs / 1000).toFixed(1)} s in all`,
    `cluster: ${report.cluster}`,
    '',
    figures,
    '',
    checks,
    '',
  ];
  if (report.problems.length > 0) lines.push('problems:', ...report.problems.map((p) => `  ${p}`), '');
  lines.push(`verdict: ${report.verdict}`);
  return `${lines.join('\n')}\n`;
}
