/**
 * Compiles `src/` once for the end-to-end tests, into build/e2e-dist (not dist/, which a
 * running `npm start` may be using). Incremental, so a rerun with no change costs little; a
 * file lock makes concurrent test files wait for one build instead of racing two.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import lockfile from 'proper-lockfile';

/**
 * The nearest folder above this file holding a package.json: the repository, whether this runs
 * from test/e2e/helpers (jest) or compiled under build/ (the figures scripts).
 */
export const REPO_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
const OUT_DIR = join(REPO_ROOT, 'build', 'e2e-dist');
const BUILD_DEADLINE_MS = 300_000;

/** Builds the service and answers the path of its entry point, `main.js`. */
export async function buildService(): Promise<string> {
  await mkdir(OUT_DIR, { recursive: true });
  const release = await lockfile.lock(OUT_DIR, {
    lockfilePath: `${OUT_DIR}.lock`,
    // Another test file may be building: wait for it (up to about the build deadline).
    retries: { retries: 600, minTimeout: 250, maxTimeout: 500 },
    stale: BUILD_DEADLINE_MS,
  });
  try {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const args = [tsc, '-p', 'tsconfig.build.json', '--outDir', OUT_DIR, '--incremental', '--tsBuildInfoFile', join(OUT_DIR, '.tsbuildinfo')];
    const { code, output } = await run(process.execPath, args);
    if (code !== 0) throw new Error(`the service does not build (tsc exit ${code}):\n${output}`);
  } finally {
    await release();
  }
  return join(OUT_DIR, 'main.js');
}

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = setTimeout(() => child.kill('SIGKILL'), BUILD_DEADLINE_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(deadline);
      resolve({ code, output });
    });
  });
}
