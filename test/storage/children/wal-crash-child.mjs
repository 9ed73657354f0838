// Child of wal-crash.test.ts: appends to a WAL as fast as it can, with concurrent appenders,
// printing `ack <index>` only after each append resolved (is durable). The parent SIGKILLs it
// at a random moment and checks that every acknowledged entry survived.
// Usage: node wal-crash-child.mjs <build dir> <data dir>
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [buildDir, dataDir] = process.argv.slice(2);
const load = (path) => import(pathToFileURL(join(buildDir, path)).href);
const { NodeFileSystem } = await load('storage/fs/node-file-system.js');
const { Wal } = await load('storage/wal/wal.js');
const { HardStateStore } = await load('storage/hard-state-store.js');

// Keep in step with expectedEntry() in wal-crash.test.ts.
const termOf = (index) => Math.floor(index / 1000) + 1;
const dataOf = (index) => {
  const bytes = new Uint8Array(1 + ((index * 37) % 200));
  for (let i = 0; i < bytes.length; i++) bytes[i] = (index * 31 + i * 7) & 0xff;
  return bytes;
};

const quiet = { log: () => {}, warn: (m) => process.stderr.write(`${m}\n`) };
const fs = new NodeFileSystem();
const wal = await Wal.open(fs, join(dataDir, 'wal'), { segmentBytesMax: 16 * 1024, logger: quiet });
const hardStates = await HardStateStore.open(fs, dataDir);
process.stdout.write(`open ${wal.firstIndex} ${wal.lastIndex} ${hardStates.current.term}\n`);

let next = wal.lastIndex + 1;
let acks = 0;
let term = hardStates.current.term;

async function appender() {
  for (;;) {
    const index = next++;
    const kind = index % 13 === 0 ? 'noop' : 'command';
    await wal.append([{ index, term: termOf(index), type: kind, data: kind === 'noop' ? new Uint8Array(0) : dataOf(index) }]);
    process.stdout.write(`ack ${index}\n`);
    acks++;
    if (acks % 400 === 0) {
      const upTo = index - 300;
      await wal.compact(upTo);
      process.stdout.write(`compact ${upTo}\n`);
    }
    if (acks % 250 === 0) {
      const saved = ++term;
      await hardStates.save({ term: saved, vote: 'n1', commit: 0 });
      process.stdout.write(`term ${saved}\n`);
    }
  }
}

await Promise.all(Array.from({ length: 8 }, appender));
