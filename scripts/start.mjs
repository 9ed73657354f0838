#!/usr/bin/env node
// `npm start`: build if needed, then run a local 3-node cluster on ports 7001-7003 with data
// under ./data/n1..n3. Ctrl-C stops every node cleanly; restarting keeps the data.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const mainJs = join(root, 'dist', 'main.js');

function newestMtimeMs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

if (!existsSync(mainJs) || newestMtimeMs(join(root, 'src')) > statSync(mainJs).mtimeMs) {
  console.log('raft-kv: building...');
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    console.error('raft-kv: the build failed; see the errors above.');
    process.exit(1);
  }
}
if (!existsSync(mainJs)) {
  console.error('raft-kv: service not built yet: dist/main.js does not exist (the node entry point is still to come).');
  process.exit(1);
}

const members = [
  { id: 'n1', port: 7001 },
  { id: 'n2', port: 7002 },
  { id: 'n3', port: 7003 },
];
const url = (m) => `http://127.0.0.1:${m.port}`;
const children = members.map((m) => {
  const peers = members.filter((o) => o.id !== m.id).map((o) => `${o.id}=${url(o)}`).join(',');
  const child = spawn(
    process.execPath,
    [mainJs, '--id', m.id, '--port', String(m.port), '--peers', peers, '--data-dir', join(root, 'data', m.id)],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const prefix = `[${m.id}] `;
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream.on('data', (chunk) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop();
      for (const line of lines) console.log(prefix + line);
    });
  }
  child.on('exit', (code, signal) => console.log(`${prefix}exited (${signal ?? code})`));
  console.log(`${m.id}: ${url(m)}   Swagger UI: ${url(m)}/docs`);
  return child;
});

let stopping = false;
function stopAll() {
  if (stopping) return;
  stopping = true;
  console.log('raft-kv: stopping all nodes...');
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
}
process.on('SIGINT', stopAll);
process.on('SIGTERM', stopAll);
await Promise.all(children.map((c) => new Promise((resolve) => c.exitCode !== null ? resolve() : c.on('exit', resolve))));
