import { type ChildProcess, spawn } from 'node:child_process';

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface NodeProcess {
  readonly child: ChildProcess;
  /** Resolves once the process exited, after its last output line was recorded. */
  readonly exited: Promise<Exit>;
}

/**
 * Starts `node mainJs ...args` with the RAFT_* variables removed (flags alone configure it) and
 * hands every line it prints, stdout and stderr, to `record`, then `[exited code=… signal=…]`.
 */
export function spawnNodeProcess(mainJs: string, args: readonly string[], cwd: string, record: (line: string) => void): NodeProcess {
  const child = spawn(process.execPath, [mainJs, ...args], { cwd, env: envWithoutRaftVariables(), stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) record(line);
    });
  }
  const exited = new Promise<Exit>((resolve) => {
    child.on('exit', (code, signal) => {
      record(`[exited code=${code} signal=${signal}]`);
      resolve({ code, signal });
    });
  });
  return { child, exited };
}

export function envWithoutRaftVariables(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('RAFT_')));
}
