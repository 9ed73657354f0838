/** The chaos run's command line: defaults, bounds, and a usage error that exits 2 before starting anything. */
import { describe, expect, it } from '@jest/globals';
import { ChaosUsageError, FAULT_KINDS, parseChaosArgs, replayCommand, type ChaosOptions } from '../../src/chaos/chaos-options.js';
import { runChaosCli } from '../../src/chaos/cli.js';

const defaults = { randomSeed: () => 4242, now: () => new Date('2025-03-01T10:20:30.000Z') };

function options(argv: string[]): ChaosOptions {
  const line = parseChaosArgs(argv, defaults);
  if (line.kind !== 'run') throw new Error('expected a run');
  return line.options;
}

describe('chaos command line', () => {
  it('fills in the defaults, the random seed and a dated output dir', () => {
    expect(options([])).toEqual({ seconds: 60, nodes: 5, faults: [...FAULT_KINDS], seed: 4242, clients: 6, keys: 5, outDir: 'data/chaos/2025-03-01T10-20-30-seed4242' });
  });

  it('takes every flag, and the replay command gives back the same options', () => {
    const argv = ['--seconds', '300', '--nodes', '3', '--faults', 'pause,crash', '--seed', '17', '--clients', '4', '--keys', '2', '--out', '/tmp/x'];
    const parsed = options(argv);
    expect(parsed).toEqual({ seconds: 300, nodes: 3, faults: ['pause', 'crash'], seed: 17, clients: 4, keys: 2, outDir: '/tmp/x' });
    const replayed = options(replayCommand(parsed).split(' ').slice(4).concat(['--out', '/tmp/x']));
    expect(replayed).toEqual(parsed);
    expect(options(['--faults', 'none']).faults).toEqual([]);
  });

  it('refuses bad values, naming the flag', () => {
    const refuse = (argv: string[], message: string): void => expect(() => parseChaosArgs(argv, defaults)).toThrow(new ChaosUsageError(message));
    refuse(['--nodes', '4'], '--nodes must be 3 or 5, got 4');
    refuse(['--seconds', '0'], '--seconds must be an integer >= 1, got 0');
    refuse(['--seconds', '1.5'], '--seconds must be an integer >= 1, got "1.5"');
    refuse(['--clients', '1000'], '--clients must be at most 64, got 1000');
    refuse(['--faults', 'crash,flood'], '--faults: unknown fault "flood" (faults: crash, pause, partition, restart, or none)');
    refuse(['--seed', '-3'], "Option '--seed' argument is ambiguous");
    expect(() => parseChaosArgs(['--speed', '3'], defaults)).toThrow(/Unknown option '--speed'/);
  });

  it('exits 2 on a usage error, with the message and the usage on stderr', async () => {
    let stderr = '';
    let stdout = '';
    const code = await runChaosCli(['--nodes', '7'], { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } });
    expect(code).toBe(2);
    expect(stderr).toContain('chaos: usage error: --nodes must be 3 or 5, got 7');
    expect(stderr).toContain('usage: npm run chaos --');
    expect(stdout).toBe('');
  });
});
