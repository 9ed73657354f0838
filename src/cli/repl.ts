/**
 * kvctl's interactive shell: each line is a kvctl command (same grammar and output as the
 * one-shot form, words split like a shell), run with one KvClient for the whole session, so
 * its writes share one clientId with increasing seq. History persists across sessions in
 * ~/.kvctl_history (bounded); Tab completes commands and their options.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import * as readline from 'node:readline';
import type { KvClient } from '../client/kv-client.js';
import { COMMAND_NAMES, COMMAND_OPTION_FLAGS, COMMANDS, helpText, parseCommandLine, UsageError } from './command-line.js';
import { execute, type Output } from './execute.js';
import { EXIT_OK, type ExitCode } from './exit-codes.js';
import { TokenizeError, tokenize } from './tokenize.js';

/** Lines of history kept (in memory and, after trimming, in the file). */
export const HISTORY_LINES_MAX = 1000;

export interface ReplIo {
  readonly input: NodeJS.ReadableStream;
  readonly stdout: Output;
  readonly stderr: Output;
  /** Interactive: prompt, line editing and completion (needs `stdout` to be a TTY stream). */
  readonly terminal: boolean;
  /** Null: keep no history. */
  readonly historyFile: string | null;
}

export async function runRepl(client: KvClient, io: ReplIo, json: boolean): Promise<ExitCode> {
  const history = new HistoryFile(io.historyFile, io.stderr);
  const rl = readline.createInterface({
    input: io.input,
    output: io.terminal ? (io.stdout as NodeJS.WritableStream) : undefined,
    terminal: io.terminal,
    completer: completeLine,
    history: history.load(),
    historySize: HISTORY_LINES_MAX,
    removeHistoryDuplicates: true,
    prompt: 'kvctl> ',
  });
  if (io.terminal) {
    io.stdout.write(`kvctl shell on ${client.endpoints.join(', ')}; "help" lists commands, "exit" leaves\n`);
    rl.prompt();
  }
  try {
    for await (const line of rl) {
      const keepGoing = await runLine(line, client, io, json, history);
      if (!keepGoing) break;
      if (io.terminal) rl.prompt();
    }
  } finally {
    rl.close();
  }
  return EXIT_OK;
}

/** Runs one line; false when the line asks to leave. Errors are printed, never fatal. */
async function runLine(line: string, client: KvClient, io: ReplIo, json: boolean, history: HistoryFile): Promise<boolean> {
  if (line.trim() === '') return true;
  history.append(line);
  try {
    const parsed = parseCommandLine(tokenize(line));
    const foreign = parsed.globalsGiven.filter((name) => name !== 'json');
    if (foreign.length > 0) throw new UsageError(`--${foreign[0]} is set when starting kvctl, not per command`);
    const command = parsed.command;
    if (command === null) return true;
    switch (command.name) {
      case 'exit':
        return false;
      case 'help':
        io.stdout.write(helpText(command.topic));
        return true;
      case 'repl':
        io.stderr.write('kvctl: already in the shell\n');
        return true;
      case 'drill':
        // A drill starts and kills its own cluster for minutes: a command of its own, not a shell line.
        io.stderr.write('kvctl: run drills from the command line: kvctl drill NAME\n');
        return true;
      default:
        await execute(command, { client, stdout: io.stdout, stderr: io.stderr, json: json || parsed.globals.json });
        return true;
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof TokenizeError) {
      io.stderr.write(`kvctl: usage error: ${error.message}\n`);
      return true;
    }
    throw error;
  }
}

/** Tab completion: command names first, then the options of the command being typed. */
export function completeLine(line: string): [string[], string] {
  const words = line.split(/\s+/);
  const current = words[words.length - 1] ?? '';
  const candidates =
    words.length <= 1
      ? [...COMMAND_NAMES, 'quit']
      : words[0] === 'help'
        ? [...COMMAND_NAMES]
        : current.startsWith('-')
          ? [...(COMMANDS[words[0]!]?.options.map((option) => COMMAND_OPTION_FLAGS[option]) ?? []), '--json']
          : [];
  const hits = candidates.filter((candidate) => candidate.startsWith(current));
  return [hits.length > 0 ? hits : candidates, current];
}

/**
 * The history file: one line per entry, oldest first. Appended line by line so a crash keeps
 * what was typed; trimmed to HISTORY_LINES_MAX when loaded. Failures are reported once and
 * never stop the shell.
 */
class HistoryFile {
  private lastLine: string | null = null;
  private warned = false;

  constructor(
    private readonly path: string | null,
    private readonly stderr: Output,
  ) {}

  /** Newest first, as readline wants it. */
  load(): string[] {
    if (this.path === null) return [];
    let lines: string[];
    try {
      lines = readFileSync(this.path, 'utf8').split('\n').filter((l) => l !== '');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.warn(error);
      return [];
    }
    if (lines.length > HISTORY_LINES_MAX) {
      lines = lines.slice(-HISTORY_LINES_MAX);
      try {
        writeFileSync(this.path, `${lines.join('\n')}\n`, { mode: 0o600 });
      } catch (error) {
        this.warn(error);
      }
    }
    this.lastLine = lines[lines.length - 1] ?? null;
    return lines.reverse();
  }

  append(line: string): void {
    // A line with a newline cannot come from readline; consecutive repeats are kept once.
    if (this.path === null || line === this.lastLine) return;
    this.lastLine = line;
    try {
      appendFileSync(this.path, `${line}\n`, { mode: 0o600 });
    } catch (error) {
      this.warn(error);
    }
  }

  private warn(error: unknown): void {
    if (this.warned) return;
    this.warned = true;
    this.stderr.write(`kvctl: history file ${this.path}: ${(error as Error).message}\n`);
  }
}
