/**
 * The chaos run's command line:
 *
 *   npm run chaos -- [--seconds 60] [--nodes 3|5] [--faults crash,pause,partition,restart]
 *                    [--seed N] [--clients 6] [--keys 5] [--out DIR]
 *
 * Parsed with node's util.parseArgs; every bad value is a ChaosUsageError naming the flag
 * (the CLI prints it and exits 2 before starting anything). Pure: the random default seed and
 * the clock for the default output dir are passed in.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';

export const FAULT_KINDS = ['crash', 'pause', 'partition', 'restart'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const CHAOS_NODE_COUNTS: readonly number[] = [3, 5];
export const CHAOS_SECONDS_DEFAULT = 60;
/** An hour: the history of a longer run would outgrow what the checker can search in memory. */
export const CHAOS_SECONDS_MAX = 3600;
export const CHAOS_NODES_DEFAULT = 5;
export const CHAOS_CLIENTS_DEFAULT = 6;
export const CHAOS_CLIENTS_MAX = 64;
export const CHAOS_KEYS_DEFAULT = 5;
/** Small on purpose: clients must collide on keys for the check to mean something. */
export const CHAOS_KEYS_MAX = 100;
/** Seeds are non-negative safe integers, so a printed seed replays exactly. */
export const CHAOS_SEED_MAX = Number.MAX_SAFE_INTEGER;

export interface ChaosOptions {
  readonly seconds: number;
  readonly nodes: number;
  readonly faults: readonly FaultKind[];
  readonly seed: number;
  readonly clients: number;
  readonly keys: number;
  /** Where history.jsonl, report.json and report.txt go. */
  readonly outDir: string;
}

export class ChaosUsageError extends Error {
  override readonly name = 'ChaosUsageError';
}

export const CHAOS_USAGE = [
  'usage: npm run chaos -- [--seconds N] [--nodes 3|5] [--faults crash,pause,partition,restart|none]',
  '                        [--seed N] [--clients N] [--keys N] [--out DIR]',
  `  --seconds  how long clients run under faults (default ${CHAOS_SECONDS_DEFAULT}, at most ${CHAOS_SECONDS_MAX})`,
  `  --nodes    cluster size, 3 or 5 (default ${CHAOS_NODES_DEFAULT})`,
  `  --faults   the fault kinds to inject, comma-separated (default all: ${FAULT_KINDS.join(',')})`,
  '  --seed     the seed of the fault schedule and the workload (default random; always printed)',
  `  --clients  concurrent clients (default ${CHAOS_CLIENTS_DEFAULT}, at most ${CHAOS_CLIENTS_MAX})`,
  `  --keys     keys every kind of op hits (default ${CHAOS_KEYS_DEFAULT}, at most ${CHAOS_KEYS_MAX}); two append-only keys come on top`,
  '  --out      output directory (default data/chaos/<time>-seed<N>)',
].join('\n');

export type ChaosCommandLine = { readonly kind: 'run'; readonly options: ChaosOptions } | { readonly kind: 'help'; readonly text: string };

export interface ChaosDefaults {
  /** The seed when --seed is absent. */
  readonly randomSeed: () => number;
  /** The wall clock, for the default output dir's name. */
  readonly now: () => Date;
}

export function parseChaosArgs(argv: readonly string[], defaults: ChaosDefaults): ChaosCommandLine {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        seconds: { type: 'string' },
        nodes: { type: 'string' },
        faults: { type: 'string' },
        seed: { type: 'string' },
        clients: { type: 'string' },
        keys: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    // parseArgs names the flag in its message; keep its first sentence.
    throw new ChaosUsageError((error as Error).message.split(/\.(\s|$)/)[0]!);
  }
  if (values['help'] === true) return { kind: 'help', text: CHAOS_USAGE };
  const seconds = integerFlag('--seconds', values['seconds'], CHAOS_SECONDS_DEFAULT, 1, CHAOS_SECONDS_MAX);
  const nodes = integerFlag('--nodes', values['nodes'], CHAOS_NODES_DEFAULT, 1, 99);
  if (!CHAOS_NODE_COUNTS.includes(nodes)) throw new ChaosUsageError(`--nodes must be 3 or 5, got ${nodes}`);
  const faults = faultsFlag(values['faults']);
  const seed = values['seed'] === undefined ? defaults.randomSeed() : integerFlag('--seed', values['seed'], 0, 0, CHAOS_SEED_MAX);
  const clients = integerFlag('--clients', values['clients'], CHAOS_CLIENTS_DEFAULT, 1, CHAOS_CLIENTS_MAX);
  const keys = integerFlag('--keys', values['keys'], CHAOS_KEYS_DEFAULT, 1, CHAOS_KEYS_MAX);
  const out = values['out'];
  if (out === '') throw new ChaosUsageError('--out must not be empty');
  const outDir = typeof out === 'string' ? out : join('data', 'chaos', `${timestampForName(defaults.now())}-seed${seed}`);
  return { kind: 'run', options: { seconds, nodes, faults, seed, clients, keys, outDir } };
}

function integerFlag(flag: string, text: string | boolean | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  if (typeof text !== 'string' || !/^\d+$/.test(text)) throw new ChaosUsageError(`${flag} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw new ChaosUsageError(`${flag} must be an integer >= ${min}, got ${text}`);
  if (value > max) throw new ChaosUsageError(`${flag} must be at most ${max}, got ${text}`);
  return value;
}

function faultsFlag(text: string | boolean | undefined): FaultKind[] {
  if (text === undefined) return [...FAULT_KINDS];
  if (typeof text !== 'string') throw new ChaosUsageError('--faults needs a value');
  if (text.trim() === 'none') return [];
  const kinds: FaultKind[] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    if (!(FAULT_KINDS as readonly string[]).includes(part)) {
      throw new ChaosUsageError(`--faults: unknown fault ${JSON.stringify(part)} (faults: ${FAULT_KINDS.join(', ')}, or none)`);
    }
    if (!kinds.includes(part as FaultKind)) kinds.push(part as FaultKind);
  }
  return kinds;
}

/** 2025-01-31T12-00-00: sortable, and safe in a file name on every platform. */
function timestampForName(date: Date): string {
  return date.toISOString().slice(0, 19).replace(/:/g, '-');
}

/** The command that replays a run: same seed, same size, same faults, same workload. */
export function replayCommand(options: ChaosOptions): string {
  const faults = options.faults.length === 0 ? 'none' : options.faults.join(',');
  return `npm run chaos -- --seconds ${options.seconds} --nodes ${options.nodes} --faults ${faults} --seed ${options.seed} --clients ${options.clients} --keys ${options.keys}`;
}
