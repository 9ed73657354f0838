/** `kvctl drill` on the command line: its options, their bounds, and its place in the help. */
import { describe, expect, it } from '@jest/globals';
import { helpText, parseCommandLine, UsageError } from '../../src/cli/command-line.js';
import { run } from '../../src/cli/kvctl.js';

describe('kvctl drill command line', () => {
  it('parses the drill name, --nodes, --seconds and --json', () => {
    expect(parseCommandLine(['drill', 'crash-leader']).command).toEqual({ name: 'drill', drill: 'crash-leader', nodes: 3, seconds: 5 });
    const line = parseCommandLine(['drill', 'partition-leader', '--nodes', '5', '--seconds', '12', '--json']);
    expect(line.command).toEqual({ name: 'drill', drill: 'partition-leader', nodes: 5, seconds: 12 });
    expect(line.globals.json).toBe(true);
  });

  it('refuses an unknown drill, a node count other than 3 or 5, and a bad duration', () => {
    expect(() => parseCommandLine(['drill', 'crash-everything'])).toThrow(/unknown drill "crash-everything" \(drills: crash-leader, crash-follower, restart-all, partition-leader/);
    expect(() => parseCommandLine(['drill'])).toThrow(UsageError);
    expect(() => parseCommandLine(['drill', 'crash-leader', '--nodes', '4'])).toThrow('--nodes must be 3 or 5, got 4');
    expect(() => parseCommandLine(['drill', 'crash-leader', '--seconds', '0'])).toThrow('--seconds must be an integer >= 1');
    expect(() => parseCommandLine(['drill', 'crash-leader', '--seconds', '9999'])).toThrow('--seconds must be at most');
    // The drill options belong to drill alone.
    expect(() => parseCommandLine(['get', 'k', '--nodes', '3'])).toThrow('--nodes applies only to drill');
  });

  it('parses --existing with the default or a given --control, and refuses what does not fit it', () => {
    expect(parseCommandLine(['drill', 'pause-leader', '--existing']).command).toEqual({ name: 'drill', drill: 'pause-leader', nodes: 3, seconds: 5, control: 'http://127.0.0.1:7000' });
    expect(parseCommandLine(['drill', 'lagging-follower', '--existing', '--control', 'http://127.0.0.1:17000', '--seconds', '2']).command).toEqual({
      name: 'drill',
      drill: 'lagging-follower',
      nodes: 3,
      seconds: 2,
      control: 'http://127.0.0.1:17000',
    });
    expect(() => parseCommandLine(['drill', 'crash-leader', '--control', 'http://127.0.0.1:7000'])).toThrow('--control applies only with --existing');
    expect(() => parseCommandLine(['drill', 'crash-leader', '--existing', '--nodes', '5'])).toThrow('--nodes does not apply with --existing');
    expect(() => parseCommandLine(['drill', 'crash-leader', '--existing', '--control', 'localhost:7000'])).toThrow('--control must be a URL');
    expect(() => parseCommandLine(['get', 'k', '--existing'])).toThrow('--existing applies only to drill');
  });

  it('knows all six drills', () => {
    for (const name of ['crash-leader', 'crash-follower', 'restart-all', 'partition-leader', 'lagging-follower', 'pause-leader']) {
      expect(parseCommandLine(['drill', name]).command).toMatchObject({ name: 'drill', drill: name });
    }
    expect(helpText('drill')).toContain('lagging-follower, pause-leader');
    expect(helpText()).toContain('--existing: on the cluster `npm start` runs');
  });

  it('lists drill in the help, and a usage error exits 2 before starting anything', async () => {
    expect(helpText()).toContain('drill NAME [--nodes 3|5] [--seconds N]');
    expect(helpText('drill')).toContain('crash-leader, crash-follower, restart-all, partition-leader');
    let stderr = '';
    const code = await run(['drill', 'nope'], { stdout: { write: () => true }, stderr: { write: (t: string) => (stderr += t) } });
    expect(code).toBe(2);
    expect(stderr).toContain('unknown drill "nope"');
  });
});
