#!/usr/bin/env node
// `npm start`: build if needed, then run a local 3-node cluster on ports 7001-7003 with data
// under ./data/n1..n3. Ctrl-C stops every node cleanly; restarting keeps the data.
//
// The nodes are supervised like a drill's own cluster (src/drill/process-cluster.ts): each
// directed peer link goes through a small TCP proxy in this process, and a control API on
// 127.0.0.1:7000 lets `kvctl drill NAME --existing` kill, pause, restart and cut off nodes
// (see src/drill/control-server.ts for its routes). Restarted nodes keep their data.
//
// Environment (for running a second cluster beside the first, e.g. in tests):
//   RAFT_KV_BASE_PORT  control API on this port, nodes on the next three (default 7000)
//   RAFT_KV_DATA_DIR   node data under <dir>/n1..n3 (default ./data)
//   RAFT_KV_DIST       use this build of the service instead of ./dist, without rebuilding
import { spawnSync } from 'node:child_process';
import { existsSync, statSync, readdirSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const NODES = 3;
const basePort = Number(process.env.RAFT_KV_BASE_PORT ?? 7000);
if (!Number.isInteger(basePort) || basePort < 1 || basePort + NODES > 65535) {
  console.error(`raft-kv: RAFT_KV_BASE_PORT must be a port number, got ${JSON.stringify(process.env.RAFT_KV_BASE_PORT)}`);
  process.exit(1);
}
const dataDir = resolve(process.env.RAFT_KV_DATA_DIR ?? join(root, 'data'));
const dist = resolve(process.env.RAFT_KV_DIST ?? join(root, 'dist'));
const mainJs = join(dist, 'main.js');

function newestMtimeMs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

if (process.env.RAFT_KV_DIST === undefined && (!existsSync(mainJs) || newestMtimeMs(join(root, 'src')) > statSync(mainJs).mtimeMs)) {
  console.log('raft-kv: building...');
  const build = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) {
    console.error('raft-kv: the build failed; see the errors above.');
    process.exit(1);
  }
}
if (!existsSync(mainJs)) {
  console.error(`raft-kv: service not built: ${mainJs} does not exist.`);
  process.exit(1);
}

const { ProcessCluster } = await import(pathToFileURL(join(dist, 'drill', 'process-cluster.js')).href);
const { startControlServer } = await import(pathToFileURL(join(dist, 'drill', 'control-server.js')).href);

const ports = Array.from({ length: NODES }, (_, i) => basePort + 1 + i);
const cluster = await ProcessCluster.start({
  nodes: NODES,
  mainJs,
  ports,
  dataDir,
  onOutput: (id, line) => console.log(`[${id}] ${line}`),
});
let control;
try {
  control = await startControlServer(cluster, basePort);
} catch (error) {
  console.error(`raft-kv: cannot serve the control API on 127.0.0.1:${basePort}: ${error.message}`);
  await cluster.destroy();
  process.exit(1);
}
for (const node of cluster.nodes) console.log(`${node.id}: ${node.url}   Swagger UI: ${node.url}/docs   data: ${node.dataDir}`);
console.log(`control API (drills with --existing): http://127.0.0.1:${basePort}`);

let stopping = false;
async function stopAll() {
  if (stopping) return;
  stopping = true;
  console.log('raft-kv: stopping all nodes...');
  control.close();
  // SIGTERM to every node (SIGKILL past a deadline); the data stays.
  await cluster.destroy();
  process.exit(0);
}
process.on('SIGINT', stopAll);
process.on('SIGTERM', stopAll);
// Should this supervisor die some other way, its nodes must not outlive it.
process.on('exit', () => {
  for (const node of cluster.nodes) node.child?.kill('SIGKILL');
});
