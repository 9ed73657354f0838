/**
 * The child processes of a bench run (raft-kv nodes, etcd members, the echo app) and the run's
 * directory, with one cleanup that every exit path takes: normal end, an error, Ctrl-C (SIGINT)
 * or SIGTERM. Each child writes its output to a log file in the run directory (not through a pipe
 * to this process, which would spend the load generator's CPU on it); the tail of that log
 * explains a failure.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';

/** After SIGTERM, a child gets this long to flush and exit before SIGKILL. */
const STOP_DEADLINE_MS = 10_000;
const LOG_TAIL_LINES = 30;

/** Kernel clock ticks per second, the unit of utime/stime in /proc/<pid>/stat. */
const CLOCK_TICKS_PER_SECOND = readClockTicks();

export class BenchProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private alive = true;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => {
      this.alive = false;
      resolve({ code, signal });
    }));
  }

  get running(): boolean {
    return this.alive;
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} has no pid (spawn failed)`);
    return this.child.pid;
  }

  /** CPU seconds (user + system) this process has used so far, from /proc/<pid>/stat. */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields count from its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of the man page (utime, stime) are at 11 and 12 after the name.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  }

  logTail(lines = LOG_TAIL_LINES): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const deadline = setTimeout(() => this.child.kill('SIGKILL'), STOP_DEADLINE_MS);
    await this.exited;
    clearTimeout(deadline);
  }
}

/** Every process started by the run, and its directory; `cleanup` stops and removes them all. */
export class BenchRun {
  private readonly processes: BenchProcess[] = [];
  private cleaned = false;

  constructor(readonly dir: string) {
    process.once('SIGINT', () => void this.interrupt('SIGINT'));
    process.once('SIGTERM', () => void this.interrupt('SIGTERM'));
    // Last resort (an uncaught error, process.exit): no await possible here, so SIGKILL.
    process.once('exit', () => this.killNow());
  }

  start(name: string, command: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchProcess {
    const logFile = `${this.dir}/${name}.log`;
    const fd = openSync(logFile, 'a');
    try {
      const child = spawn(command, args, { env, stdio: ['ignore', fd, fd] });
      const started = new BenchProcess(name, child, logFile);
      child.once('error', (error) => console.error(`\n${name}: ${error.message}`));
      this.processes.push(started);
      return started;
    } finally {
      closeSync(fd);
    }
  }

  async stop(processes: readonly BenchProcess[]): Promise<void> {
    await Promise.all(processes.map((p) => p.stop()));
  }

  async cleanup(): Promise<void> {
    if (this.cleaned) return;
    await Promise.all(this.processes.map((p) => p.stop()));
    this.cleaned = true;
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async interrupt(signal: NodeJS.Signals): Promise<void> {
    process.stderr.write(`\n${signal}: stopping the bench's processes and removing ${this.dir}\n`);
    await this.cleanup();
    process.exit(130);
  }

  private killNow(): void {
    if (this.cleaned) return;
    for (const p of this.processes) if (p.running) p.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Ports free right now on loopback (the OS picks; closed again before use). */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** Polls `probe` until it returns a value, or fails after `deadlineMs` naming what it waited for. */
export async function until<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>, explain?: () => string): Promise<T> {
  const endMs = Date.now() + deadlineMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > endMs) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}${explain ? `\n${explain()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function readClockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isFinite(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
}
