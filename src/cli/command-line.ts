/**
 * kvctl's grammar: `kvctl [global options] <command> [arguments] [command options]`, parsed
 * with node's util.parseArgs (options may come anywhere; `--` ends them, so a value may start
 * with "-"). The REPL parses each line with the same function.
 */
import { parseArgs } from 'node:util';
import { DRILL_NODE_COUNTS, DRILL_SECONDS_DEFAULT, DRILL_SECONDS_MAX, DRILLS } from '../drill/drills.js';
import { CONTROL_URL_DEFAULT } from '../drill/remote-cluster.js';

export class UsageError extends Error {}

export type Command =
  | { readonly name: 'put' | 'append'; readonly key: string; readonly value: string }
  | { readonly name: 'get'; readonly key: string; readonly stale: boolean }
  | { readonly name: 'delete'; readonly key: string }
  | { readonly name: 'cas'; readonly key: string; readonly expected: string | null; readonly value: string }
  | { readonly name: 'list'; readonly prefix: string; readonly limit: number | undefined; readonly stale: boolean }
  | { readonly name: 'status' | 'leader' }
  | { readonly name: 'repl' }
  | { readonly name: 'exit' }
  | { readonly name: 'snapshot'; readonly node: string | undefined }
  | { readonly name: 'transfer'; readonly to: string | undefined }
  | { readonly name: 'help'; readonly topic: string | undefined }
  | { readonly name: 'drill'; readonly drill: string; readonly nodes: number; readonly seconds: number; readonly control?: string };

export interface GlobalOptions {
  readonly endpoints?: string;
  readonly token?: string;
  /** Retry budget in ms. */
  readonly timeoutMs?: number;
  readonly json: boolean;
}

export interface CommandLine {
  readonly globals: GlobalOptions;
  /** Global options given on this line (the REPL refuses all but --json). */
  readonly globalsGiven: readonly string[];
  /** Null: no command (start the REPL). */
  readonly command: Command | null;
}

interface CommandSpec {
  readonly usage: string;
  readonly summary: string;
  /** Command options it accepts (beside the global ones). */
  readonly options: readonly CommandOption[];
}

type CommandOption = 'stale' | 'limit' | 'absent' | 'nodes' | 'seconds' | 'existing' | 'control';

export const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  put: { usage: 'put KEY VALUE', summary: 'set KEY to VALUE', options: [] },
  append: { usage: 'append KEY VALUE', summary: 'append VALUE to KEY; prints the whole new value', options: [] },
  get: { usage: 'get KEY [--stale]', summary: "print KEY's value (linearizable; --stale: any node's local state)", options: ['stale'] },
  delete: { usage: 'delete KEY', summary: 'delete KEY', options: [] },
  cas: { usage: 'cas KEY EXPECTED|--absent VALUE', summary: 'set KEY to VALUE only if it holds EXPECTED (--absent: only if missing)', options: ['absent'] },
  list: { usage: 'list [PREFIX] [--limit N] [--stale]', summary: 'keys starting with PREFIX, sorted', options: ['limit', 'stale'] },
  status: { usage: 'status', summary: 'every member: role, term, commit and applied index, leader, reachable', options: [] },
  leader: { usage: 'leader', summary: 'print the leader id (and its endpoint)', options: [] },
  snapshot: { usage: 'snapshot [NODE]', summary: 'take a snapshot now on NODE (default: the first endpoint that answers)', options: [] },
  transfer: { usage: 'transfer [TO]', summary: 'hand leadership to TO (default: the most up-to-date follower)', options: [] },
  drill: {
    usage: `drill NAME [--nodes ${DRILL_NODE_COUNTS.join('|')}] [--seconds N] [--existing [--control URL]]`,
    summary: `recovery drill on a local cluster it starts, or on the one \`npm start\` runs (--existing) (${[...DRILLS.keys()].join(', ')}); exit 5 on any violation`,
    options: ['nodes', 'seconds', 'existing', 'control'],
  },
  repl: { usage: 'repl', summary: 'interactive shell (also: no command)', options: [] },
  help: { usage: 'help [COMMAND]', summary: 'this help', options: [] },
  exit: { usage: 'exit', summary: 'leave the shell (also: quit, Ctrl-D)', options: [] },
};

const ALIASES: Readonly<Record<string, string>> = { quit: 'exit', del: 'delete', ls: 'list' };

export const COMMAND_NAMES: readonly string[] = Object.keys(COMMANDS);

/** Command-option flags as typed, for completion. */
export const COMMAND_OPTION_FLAGS: Readonly<Record<CommandOption, string>> = {
  stale: '--stale',
  limit: '--limit',
  absent: '--absent',
  nodes: '--nodes',
  seconds: '--seconds',
  existing: '--existing',
  control: '--control',
};

const GLOBAL_OPTION_NAMES = ['endpoints', 'token', 'timeout', 'json'] as const;

const PARSE_OPTIONS = {
  endpoints: { type: 'string', short: 'e' },
  token: { type: 'string' },
  timeout: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  stale: { type: 'boolean' },
  limit: { type: 'string', short: 'n' },
  absent: { type: 'boolean' },
  nodes: { type: 'string' },
  seconds: { type: 'string' },
  existing: { type: 'boolean' },
  control: { type: 'string' },
} as const;

export function parseCommandLine(argv: readonly string[]): CommandLine {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: PARSE_OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // parseArgs' messages name the option; keep its first sentence.
    throw new UsageError(String((error as Error).message).split('. ')[0]!.replace(/\.$/, ''));
  }
  const { values, positionals } = parsed;
  const globals: GlobalOptions = {
    endpoints: values.endpoints,
    token: values.token,
    timeoutMs: values.timeout === undefined ? undefined : parseInteger('--timeout', values.timeout, 1),
    json: values.json ?? false,
  };
  const globalsGiven = GLOBAL_OPTION_NAMES.filter((name) => values[name] !== undefined);
  const [word, ...args] = positionals;
  if (values.help === true) return { globals, globalsGiven, command: { name: 'help', topic: word } };
  if (word === undefined) {
    rejectCommandOptions(null, values);
    return { globals, globalsGiven, command: null };
  }
  const name = ALIASES[word] ?? word;
  const spec = COMMANDS[name];
  if (spec === undefined) throw new UsageError(`unknown command ${JSON.stringify(word)} (commands: ${COMMAND_NAMES.join(', ')})`);
  rejectCommandOptions(name, values);
  return { globals, globalsGiven, command: buildCommand(name, spec, args, values) };
}

function buildCommand(
  name: string,
  spec: CommandSpec,
  args: string[],
  values: { stale?: boolean; limit?: string; absent?: boolean; nodes?: string; seconds?: string; existing?: boolean; control?: string },
): Command {
  const arity = (min: number, max: number): void => {
    if (args.length < min) throw new UsageError(`${name}: missing ${spec.usage.split(' ').slice(1 + args.length).filter((w) => !w.startsWith('[')).join(' ') || 'argument'} (usage: ${spec.usage})`);
    if (args.length > max) throw new UsageError(`${name}: too many arguments (usage: ${spec.usage})`);
  };
  switch (name) {
    case 'put':
    case 'append':
      arity(2, 2);
      return { name, key: args[0]!, value: args[1]! };
    case 'get':
      arity(1, 1);
      return { name, key: args[0]!, stale: values.stale ?? false };
    case 'delete':
      arity(1, 1);
      return { name, key: args[0]! };
    case 'cas':
      if (values.absent === true) {
        if (args.length === 3) throw new UsageError('cas: give EXPECTED or --absent, not both');
        if (args.length < 2) throw new UsageError(`cas: missing KEY or VALUE (usage: ${spec.usage})`);
        if (args.length > 2) throw new UsageError(`cas: too many arguments (usage: ${spec.usage})`);
        return { name, key: args[0]!, expected: null, value: args[1]! };
      }
      if (args.length === 2) throw new UsageError('cas: missing VALUE, or --absent to create only if missing (usage: cas KEY EXPECTED|--absent VALUE)');
      arity(3, 3);
      return { name, key: args[0]!, expected: args[1]!, value: args[2]! };
    case 'list':
      arity(0, 1);
      return { name, prefix: args[0] ?? '', limit: values.limit === undefined ? undefined : parseInteger('--limit', values.limit, 0), stale: values.stale ?? false };
    case 'snapshot':
      arity(0, 1);
      return { name, node: args[0] };
    case 'transfer':
      arity(0, 1);
      return { name, to: args[0] };
    case 'help':
      arity(0, 1);
      return { name, topic: args[0] };
    case 'drill': {
      arity(1, 1);
      if (!DRILLS.has(args[0]!)) throw new UsageError(`drill: unknown drill ${JSON.stringify(args[0])} (drills: ${[...DRILLS.keys()].join(', ')})`);
      const nodes = values.nodes === undefined ? DRILL_NODE_COUNTS[0]! : parseInteger('--nodes', values.nodes, 1);
      if (!DRILL_NODE_COUNTS.includes(nodes)) throw new UsageError(`--nodes must be ${DRILL_NODE_COUNTS.join(' or ')}, got ${nodes}`);
      const seconds = values.seconds === undefined ? DRILL_SECONDS_DEFAULT : parseInteger('--seconds', values.seconds, 1);
      if (seconds > DRILL_SECONDS_MAX) throw new UsageError(`--seconds must be at most ${DRILL_SECONDS_MAX}, got ${seconds}`);
      if (values.existing !== true) {
        if (values.control !== undefined) throw new UsageError('--control applies only with --existing');
        return { name, drill: args[0]!, nodes, seconds };
      }
      // The running cluster has the size it has.
      if (values.nodes !== undefined) throw new UsageError('--nodes does not apply with --existing (the running cluster has its own size)');
      const control = values.control ?? CONTROL_URL_DEFAULT;
      if (!/^https?:\/\/[^/]+\/?$/.test(control)) throw new UsageError(`--control must be a URL like ${CONTROL_URL_DEFAULT}, got ${JSON.stringify(control)}`);
      return { name, drill: args[0]!, nodes, seconds, control };
    }
    case 'status':
    case 'leader':
      arity(0, 0);
      return { name };
    case 'repl':
      arity(0, 0);
      return { name };
    case 'exit':
      arity(0, 0);
      return { name };
    default:
      throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  }
}

function rejectCommandOptions(name: string | null, values: Partial<Record<CommandOption, unknown>>): void {
  const allowed = name === null ? [] : COMMANDS[name]!.options;
  for (const option of Object.keys(COMMAND_OPTION_FLAGS) as CommandOption[]) {
    if (values[option] !== undefined && !allowed.includes(option)) {
      const owners = COMMAND_NAMES.filter((command) => COMMANDS[command]!.options.includes(option));
      throw new UsageError(`${COMMAND_OPTION_FLAGS[option]} applies only to ${owners.join(' and ')}`);
    }
  }
}

function parseInteger(flag: string, text: string, min: number): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < min) {
    throw new UsageError(`${flag} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

export function helpText(topic?: string): string {
  if (topic !== undefined) {
    const spec = COMMANDS[ALIASES[topic] ?? topic];
    if (spec === undefined) throw new UsageError(`no help for unknown command ${JSON.stringify(topic)}`);
    return `kvctl ${spec.usage}\n  ${spec.summary}\n`;
  }
  const width = Math.max(...Object.values(COMMANDS).map((spec) => spec.usage.length));
  const lines = Object.values(COMMANDS).map((spec) => `  ${spec.usage.padEnd(width)}  ${spec.summary}`);
  return [
    'usage: kvctl [--endpoints URL,URL,...] [--json] [--token T] [--timeout MS] <command>',
    '',
    'commands:',
    ...lines,
    '',
    'drill options: --nodes 3|5 (default 3), --seconds N of load before the fault and after recovery (default 5),',
    `               --existing: on the cluster \`npm start\` runs, through its control API (--control, default ${CONTROL_URL_DEFAULT})`,
    '',
    'options:',
    '  -e, --endpoints  client URLs of some or all members (env KVCTL_ENDPOINTS;',
    '                   default http://127.0.0.1:7001,http://127.0.0.1:7002,http://127.0.0.1:7003)',
    '  --json           machine-readable output (the server answer as JSON)',
    '  --token          cluster token for snapshot and transfer (env KVCTL_TOKEN)',
    '  --timeout        give up retrying after this many ms (default 15000)',
    '  --               ends options: `kvctl put k -- -1` stores "-1"',
    '',
    'exit codes: 0 ok, 1 not found (get of a missing key, cas that did not match),',
    '            2 usage error, 3 server error, 4 unreachable, 5 drill verdict FAIL',
    '',
  ].join('\n');
}
