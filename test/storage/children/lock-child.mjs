// Child of data-dir-lock.test.ts: opens RaftStorage on a data dir. On success prints `locked`
// and stays alive until killed; on failure prints the error's one line on stderr and exits 1,
// as the node's main does.
// Usage: node lock-child.mjs <build dir> <data dir>
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [buildDir, dataDir] = process.argv.slice(2);
const { RaftStorage } = await import(pathToFileURL(join(buildDir, 'storage/raft-storage.js')).href);
try {
  await RaftStorage.open(dataDir, { lock: { staleMs: 2000 }, logger: { log: () => {}, warn: () => {} } });
} catch (error) {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}
process.stdout.write('locked\n');
setInterval(() => {}, 1000);
