#!/usr/bin/env node
/**
 * kvctl: the command-line client of raft-kv.
 *
 *   kvctl [--endpoints http://127.0.0.1:7001,...] [--json] <command>
 *
 * One-shot commands (put, append, get, delete, cas, list, status, leader, snapshot, transfer)
 * or, with no command, an interactive shell; `kvctl drill NAME` runs a recovery drill on a
 * local cluster of its own. `run(argv, io)` does everything and returns the
 * exit code, so it runs in-process in tests; the lines at the bottom make this file the binary.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseEndpointList } from '../client/endpoints.js';
import { KvClient, type KvClientOptions } from '../client/kv-client.js';
import { helpText, parseCommandLine, UsageError, type CommandLine } from './command-line.js';
import { runDrillCommand } from './drill-command.js';
import { execute, type Output } from './execute.js';
import { EXIT_OK, EXIT_USAGE, type ExitCode } from './exit-codes.js';
import { runRepl } from './repl.js';
import { isMainModule } from './main-module.js';

/** The local cluster `npm start` runs. */
export const DEFAULT_ENDPOINTS = 'http://127.0.0.1:7001,http://127.0.0.1:7002,http://127.0.0.1:7003';
export const HISTORY_FILE_NAME = '.kvctl_history';

export interface KvctlIo {
  readonly stdout: Output;
  readonly stderr: Output;
  /** The shell's input; without it, starting the shell is a usage error. */
  readonly stdin?: NodeJS.ReadableStream;
  /** Whether the shell is interactive (prompt, editing, completion). Default false. */
  readonly terminal?: boolean;
  /** KVCTL_ENDPOINTS, KVCTL_TOKEN. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Default ~/.kvctl_history; null keeps no history. */
  readonly historyFile?: string | null;
  /** Overrides for the client (tests inject a clock and sleep). */
  readonly clientOptions?: Partial<KvClientOptions>;
}

export async function run(argv: readonly string[], io: KvctlIo): Promise<ExitCode> {
  let commandLine: CommandLine;
  let client: KvClient;
  try {
    commandLine = parseCommandLine(argv);
    if (commandLine.command?.name === 'help') {
      io.stdout.write(helpText(commandLine.command.topic));
      return EXIT_OK;
    }
    if (commandLine.command?.name === 'exit') throw new UsageError('exit is a shell command');
    if (commandLine.command?.name === 'drill') {
      // A drill starts its own cluster: no endpoints, no client.
      return await runDrillCommand(commandLine.command, commandLine.globals.json, io);
    }
    client = makeClient(commandLine, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`kvctl: usage error: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
  const { command, globals } = commandLine;
  if (command === null || command.name === 'repl') {
    if (io.stdin === undefined) {
      io.stderr.write('kvctl: usage error: no command given and no input for the shell\n');
      return EXIT_USAGE;
    }
    const historyFile = io.historyFile === undefined ? join(homedir(), HISTORY_FILE_NAME) : io.historyFile;
    return runRepl(client, { input: io.stdin, stdout: io.stdout, stderr: io.stderr, terminal: io.terminal ?? false, historyFile }, globals.json);
  }
  return execute(command, { client, stdout: io.stdout, stderr: io.stderr, json: globals.json });
}

function makeClient(commandLine: CommandLine, io: KvctlIo): KvClient {
  const env = io.env ?? {};
  const { globals } = commandLine;
  let endpoints: string[];
  try {
    endpoints = parseEndpointList(globals.endpoints ?? env.KVCTL_ENDPOINTS ?? DEFAULT_ENDPOINTS);
  } catch (error) {
    const source = globals.endpoints !== undefined ? '--endpoints' : env.KVCTL_ENDPOINTS !== undefined ? 'KVCTL_ENDPOINTS' : 'default endpoints';
    throw new UsageError(`${source}: ${(error as Error).message}`);
  }
  const token = globals.token ?? env.KVCTL_TOKEN;
  return new KvClient({
    endpoints,
    ...(token === undefined || token === '' ? {} : { token }),
    ...(globals.timeoutMs === undefined ? {} : { retryBudgetMs: globals.timeoutMs }),
    ...io.clientOptions,
  });
}

if (isMainModule(import.meta.url)) {
  const code = await run(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    terminal: process.stdin.isTTY === true && process.stdout.isTTY === true,
    env: process.env,
  });
  // Exit by running out of work (fetch's idle keep-alive sockets do not hold the process), so
  // output written to a pipe is flushed before the process ends.
  process.exitCode = code;
}
