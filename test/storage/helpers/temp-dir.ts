import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory under the OS temp dir (a real disk here, not tmpfs: see the README of test/storage). */
export async function makeTempDir(label: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `raft-kv-${label}-`));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
