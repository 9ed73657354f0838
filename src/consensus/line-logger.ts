import type { LoggerService, LogLevel } from '@nestjs/common';

const LEVEL_NAMES: Readonly<Record<LogLevel, string>> = {
  verbose: 'verbose',
  debug: 'debug',
  log: 'info',
  warn: 'warn',
  error: 'error',
  fatal: 'fatal',
};

/** Nest's boot chatter (one line per module and route): kept out of the log unless warning. */
const QUIET_CONTEXTS: ReadonlySet<string> = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/**
 * The node's log: one line per event, `key=value` pairs, so a line can be grepped and parsed:
 *   ts=2025-01-01T10:00:00.000Z level=info node=n1 ctx=RaftHost event=leader_elected term=2
 * Messages written as `event=... key=value` are kept as they are; any other message (Nest's own)
 * becomes `msg="..."`. info and below go to stdout, warnings and errors to stderr.
 */
export class LineLogger implements LoggerService {
  private levels: ReadonlySet<LogLevel>;

  constructor(
    private readonly nodeId: string,
    levels: readonly LogLevel[] = ['log', 'warn', 'error', 'fatal'],
  ) {
    this.levels = new Set(levels);
  }

  setLogLevels(levels: LogLevel[]): void {
    this.levels = new Set(levels);
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.write('log', message, rest);
  }

  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }

  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }

  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }

  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('verbose', message, rest);
  }

  private write(level: LogLevel, message: unknown, rest: unknown[]): void {
    if (!this.levels.has(level)) return;
    // Nest passes the context last; error() may pass a stack before it.
    const context = typeof rest[rest.length - 1] === 'string' ? (rest[rest.length - 1] as string) : undefined;
    if (level === 'log' && context !== undefined && QUIET_CONTEXTS.has(context)) return;
    const stack = level === 'error' && rest.length >= 2 && typeof rest[0] === 'string' ? (rest[0] as string) : undefined;
    let line = `ts=${new Date().toISOString()} level=${LEVEL_NAMES[level]} node=${this.nodeId}`;
    if (context !== undefined) line += ` ctx=${context}`;
    line += ' ' + render(message);
    if (stack !== undefined) line += ` stack=${JSON.stringify(stack)}`;
    (level === 'warn' || level === 'error' || level === 'fatal' ? process.stderr : process.stdout).write(line + '\n');
  }
}

function render(message: unknown): string {
  if (typeof message === 'string') return message.startsWith('event=') ? message : `msg=${JSON.stringify(message)}`;
  if (message instanceof Error) return `msg=${JSON.stringify(message.message)} stack=${JSON.stringify(message.stack ?? '')}`;
  return `msg=${JSON.stringify(message)}`;
}
