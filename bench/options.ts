/** The bench's command line: `--seconds N`, `--quick`, `--vs-etcd`, `--out FILE`. */
export interface BenchOptions {
  /** Measured duration of each row, in seconds. */
  readonly rowSeconds: number;
  /** Load run before each measured row and discarded (connections opened, JIT warm, caches filled). */
  readonly warmupSeconds: number;
  readonly vsEtcd: boolean;
  /** Where the JSON results go (null: results/bench-<timestamp>.json). */
  readonly outFile: string | null;
}

const USAGE = 'usage: npm run bench -- [--seconds N] [--quick] [--vs-etcd] [--out FILE]';
const DEFAULT_ROW_SECONDS = 10;
const QUICK_ROW_SECONDS = 2;

export function parseOptions(argv: readonly string[]): BenchOptions {
  let rowSeconds = DEFAULT_ROW_SECONDS;
  let quick = false;
  let vsEtcd = false;
  let outFile: string | null = null;
  let secondsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--vs-etcd') vsEtcd = true;
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
  return { rowSeconds, warmupSeconds, vsEtcd, outFile };
}
