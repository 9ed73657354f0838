import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const tsconfig = join(repoRoot, 'test/storage/tsconfig.children.json');

/**
 * Compiles src/storage (only) to JavaScript for the child processes of the real-process tests,
 * with the TypeScript compiler: no `npm run build` needed, and unaffected by the rest of src/.
 * The output goes to a fresh directory under the OS temp dir (nothing shared with other test
 * runs or other folders' builds), with a `node_modules` link so the children resolve packages.
 * Returns that directory (it holds `storage/`); remove it with removeChildBuild.
 */
export function buildStorageForChildren(label: string): string {
  const outDir = mkdtempSync(join(tmpdir(), `raft-kv-children-${label}-`));
  symlinkSync(join(repoRoot, 'node_modules'), join(outDir, 'node_modules'), 'dir');
  const result = spawnSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', tsconfig, '--outDir', outDir], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  const entry = join(outDir, 'storage/raft-storage.js');
  if (result.status !== 0 || !existsSync(entry)) {
    throw new Error(`compiling src/storage for child processes failed:\n${result.stdout}\n${result.stderr}`);
  }
  return outDir;
}

export async function removeChildBuild(outDir: string | undefined): Promise<void> {
  if (outDir) await rm(outDir, { recursive: true, force: true });
}

export function childScript(name: string): string {
  return join(repoRoot, 'test/storage/children', name);
}

export interface RunningChild {
  readonly process: ChildProcess;
  readonly lines: string[];
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the child has exited and all its output is read. */
  readonly exited: Promise<number | string>;
}

export function startChild(script: string, args: string[], env: Record<string, string>): RunningChild {
  const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    const parts = (partial + text).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  // 'close', not 'exit': 'exit' may come before the last chunks of stdout are delivered.
  const exited = new Promise<number | string>((resolveExit) => {
    child.on('close', (code, signal) => resolveExit(code ?? signal ?? 'unknown'));
  });
  return { process: child, lines, stderr: () => stderr, exited };
}

/** Polls `condition` until it holds or the deadline passes (no fixed sleeps). */
export async function waitFor(condition: () => boolean, deadlineMs: number, what: string): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
