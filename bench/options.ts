/** The bench's command line: `--seconds N`, `--quick`, `--vs-etcd`, `--scale [--scale-keys N]`, `--out FILE`. */
export interface BenchOptions {
  /** Measured duration of each row, in seconds. */
  readonly rowSeconds: number;
  /** Load run before each measured row and discarded (connections opened, JIT warm, caches filled). */
  readonly warmupSeconds: number;
  readonly vsEtcd: boolean;
  /** Where the JSON results go (null: results/bench-<timestamp>.json). */
  readonly outFile: string | null;
  /** Run the scale measurement (bench/scale.ts) instead of the rows. */
  readonly scale: boolean;
  /** Keys loaded by `--scale` (the figure is 1,000,000; fewer for a quick try). */
  readonly scaleKeys: number;
  /**
   * NODE_OPTIONS for the raft-kv nodes (e.g. V8 heap flags), for experiments; null: none, as
   * `node dist/main.js` runs by default. Printed with the results, since it changes what is measured.
   */
  readonly nodeOptions: string | null;
}

const USAGE = 'usage: npm run bench -- [--seconds N] [--quick] [--vs-etcd] [--scale [--scale-keys N]] [--node-options "FLAGS"] [--out FILE]';
export const SCALE_KEYS_DEFAULT = 1_000_000;
/** The scale run measures a 10,000-key figure first: it needs more keys than that. */
const SCALE_KEYS_MIN = 20_000;
const DEFAULT_ROW_SECONDS = 10;
const QUICK_ROW_SECONDS = 2;

export function parseOptions(argv: readonly string[]): BenchOptions {
  let rowSeconds = DEFAULT_ROW_SECONDS;
  let quick = false;
  let vsEtcd = false;
  let outFile: string | null = null;
  let secondsGiven = false;
  let scale = false;
  let scaleKeys = SCALE_KEYS_DEFAULT;
  let nodeOptions: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--vs-etcd') vsEtcd = true;
    else if (arg === '--scale') scale = true;
    else if (arg === '--node-options') {
      nodeOptions = argv[++i] ?? null;
      if (nodeOptions === null) throw new Error(`--node-options needs a value; ${USAGE}`);
    } else if (arg === '--scale-keys') {
      const value = argv[++i];
      scaleKeys = Number(value);
      if (!Number.isSafeInteger(scaleKeys) || scaleKeys < SCALE_KEYS_MIN) throw new Error(`--scale-keys must be a whole number >= ${SCALE_KEYS_MIN}, got ${value}; ${USAGE}`);
    }
    else if (arg === '--seconds' || arg === '--out') {
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value; ${USAGE}`);
      if (arg === '--out') outFile = value;
      else {
        rowSeconds = Number(value);
        if (!Number.isInteger(rowSeconds) || rowSeconds < 1) throw new Error(`--seconds must be a whole number >= 1, got ${value}`);
        secondsGiven = true;
      }
    } else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown flag ${arg}; ${USAGE}`);
  }
  if (quick && !secondsGiven) rowSeconds = QUICK_ROW_SECONDS;
  // A warm-up of a fifth of the row, at least 1 s and at most 3 s.
  const warmupSeconds = Math.min(3, Math.max(1, Math.round(rowSeconds / 5)));
  return { rowSeconds, warmupSeconds, vsEtcd, outFile, scale, scaleKeys, nodeOptions };
}
