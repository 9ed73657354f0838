// Child of wal-crash.test.ts: appends to a WAL as fast as it can, with concurrent appenders,
// printing `ack <index>` only after each append resolved (is durable). The parent SIGKILLs it
// at a random moment and checks that every acknowledged entry survived.
// Usage: node wal-crash-child.mjs <build dir> <data dir> <compaction requests file>
//
// stdout is a pipe, and Node writes to pipes asynchronously: at SIGKILL, lines still queued in
// this process are lost. A lost `ack` only makes the parent check less; a lost announcement of a
// compaction would make it blame the WAL for removing entries it was asked to remove. So each
// compaction request is first appended to a file with a synchronous write(2) (the bytes are in
// the page cache, which SIGKILL does not touch) and only then handed to the WAL.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [buildDir, dataDir, compactionRequestsFile] = process.argv.slice(2);
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
      // Recorded first: a compaction may take effect even if the kill comes before it resolves.
      appendFileSync(compactionRequestsFile, `${upTo}\n`);
      await wal.compact(upTo);
    }
    if (acks % 250 === 0) {
      const saved = ++term;
      await hardStates.save({ term: saved, vote: 'n1', commit: 0 });
      process.stdout.write(`term ${saved}\n`);
    }
  }
}

await Promise.all(Array.from({ length: 8 }, appender));
