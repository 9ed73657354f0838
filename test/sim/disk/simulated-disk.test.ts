import { describe, expect, it } from '@jest/globals';
import { Prng } from '../../../src/consensus/core/prng.js';
import { DiskIoError, PowerFailedError, SimulatedDisk } from './simulated-disk.js';

/** The simulated disk's durability model, one rule at a time (FileSystem contract, file-system.ts). */

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array | undefined): string => new TextDecoder().decode(data);

async function diskWithDir(): Promise<SimulatedDisk> {
  const disk = new SimulatedDisk();
  await disk.mkdir('/d');
  return disk;
}

/** Every outcome a power loss can give for this disk, over many draws. */
function outcomes(build: () => Promise<SimulatedDisk>, read: (disk: SimulatedDisk) => string): Promise<Set<string>> {
  return (async () => {
    const seen = new Set<string>();
    for (let seed = 1; seed <= 60; seed++) {
      const disk = await build();
      disk.powerLoss(new Prng(seed));
      seen.add(read(disk));
    }
    return seen;
  })();
}

describe('simulated disk', () => {
  it('keeps synced data and a synced directory entry across any power loss', async () => {
    const seen = await outcomes(async () => {
      const disk = await diskWithDir();
      const file = await disk.open('/d/a', 'write');
      await file.write(bytes('hello'), 0);
      await file.datasync();
      await disk.syncDir('/d');
      return disk;
    }, (disk) => text(disk.contentOf('/d/a')));
    expect([...seen]).toEqual(['hello']);
  });

  it('may lose, keep or tear an unsynced append, never anything synced before it', async () => {
    const seen = await outcomes(async () => {
      const disk = await diskWithDir();
      const file = await disk.open('/d/a', 'write');
      await file.write(bytes('synced|'), 0);
      await file.sync();
      await disk.syncDir('/d');
      await file.write(bytes('unsynced'), 7);
      return disk;
    }, (disk) => text(disk.contentOf('/d/a')));
    expect(seen.has('synced|')).toBe(true);
    expect(seen.has('synced|unsynced')).toBe(true);
    // Torn: a cut inside the write, then nothing, zeros or garbage.
    expect([...seen].some((s) => s !== 'synced|' && s !== 'synced|unsynced')).toBe(true);
    for (const s of seen) expect(s.startsWith('synced|')).toBe(true);
  });

  it('may undo a create or a rename not followed by a directory fsync, atomically', async () => {
    const seen = await outcomes(async () => {
      const disk = await diskWithDir();
      const old = await disk.open('/d/state', 'write');
      await old.write(bytes('old'), 0);
      await old.sync();
      await disk.syncDir('/d');
      const tmp = await disk.open('/d/state.tmp', 'write');
      await tmp.write(bytes('new'), 0);
      await tmp.sync();
      await disk.rename('/d/state.tmp', '/d/state');
      return disk;
    }, (disk) => `${disk.list('/d').join(',')}=${text(disk.contentOf('/d/state'))}`);
    // Before the create, after the create, or after the rename: never a state without `state`.
    expect([...seen].sort()).toEqual(['/d/state,/d/state.tmp=old', '/d/state=new', '/d/state=old']);
  });

  it('loses a file whose data was never synced, even if its name was', async () => {
    const seen = await outcomes(async () => {
      const disk = await diskWithDir();
      const file = await disk.open('/d/a', 'write');
      await disk.syncDir('/d');
      await file.write(bytes('data'), 0);
      return disk;
    }, (disk) => text(disk.contentOf('/d/a')));
    expect(seen.has('')).toBe(true);
  });

  it('fails the one injected operation, and a failed fsync leaves the data not durable', async () => {
    const disk = await diskWithDir();
    const file = await disk.open('/d/a', 'write');
    await disk.syncDir('/d');
    await file.write(bytes('data'), 0);
    disk.injectError('fsync');
    await expect(file.datasync()).rejects.toBeInstanceOf(DiskIoError);
    // Still readable (page cache), but a power loss may take it.
    expect(text(disk.contentOf('/d/a'))).toBe('data');
    disk.injectError('read');
    await expect(file.read(new Uint8Array(4), 0)).rejects.toBeInstanceOf(DiskIoError);
    await expect(file.read(new Uint8Array(4), 0)).resolves.toBe(4);
  });

  it('fails every operation once the power failed, until the power loss is applied', async () => {
    const disk = await diskWithDir();
    const file = await disk.open('/d/a', 'write');
    disk.powerFailsAfter(1);
    await file.write(bytes('one'), 0);
    await expect(file.sync()).rejects.toBeInstanceOf(PowerFailedError);
    await expect(disk.stat('/d/a')).rejects.toBeInstanceOf(PowerFailedError);
    disk.powerLoss(new Prng(1));
    // Old handles are dead; the disk works again.
    await expect(file.write(bytes('x'), 0)).rejects.toThrow(/EBADF/);
    await expect(disk.readdir('/d')).resolves.toBeDefined();
  });

  it("makes a write through a 'write-durable' handle durable when it resolves, with no separate sync", async () => {
    let syncsPerWrite = -1;
    const seen = await outcomes(async () => {
      const disk = await diskWithDir();
      const file = await disk.open('/d/a', 'write-durable');
      await disk.syncDir('/d');
      const syncsBefore = disk.stats.syncs;
      await file.write(bytes('first|'), 0);
      await file.write(bytes('second'), 6);
      syncsPerWrite = (disk.stats.syncs - syncsBefore) / 2;
      return disk;
    }, (disk) => text(disk.contentOf('/d/a')));
    expect([...seen]).toEqual(['first|second']);
    expect(syncsPerWrite).toBe(1);
  });

  it("keeps a plain 'write' handle volatile: only 'write-durable' syncs on write", async () => {
    const disk = await diskWithDir();
    const file = await disk.open('/d/a', 'write');
    await file.write(bytes('data'), 0);
    expect(disk.stats.syncs).toBe(0);
  });

  /** A 'write-durable' file /d/a whose first bytes, `durable|`, are on disk. */
  async function durableFileHoldingPrefix() {
    const disk = await diskWithDir();
    const file = await disk.open('/d/a', 'write-durable');
    await disk.syncDir('/d');
    await file.write(bytes('durable|'), 0);
    return { disk, file };
  }

  it('counts a durable write as two crash points: a power failure between them leaves it volatile, maybe torn', async () => {
    let rejection: unknown = null;
    const seen = await outcomes(async () => {
      const { disk, file } = await durableFileHoldingPrefix();
      const opsBefore = disk.mutatingOps;
      // The write itself goes through, the power fails before its sync.
      disk.powerFailsAfter(1);
      rejection = await file.write(bytes('in flight'), 8).then(() => null, (error: unknown) => error);
      expect(disk.mutatingOps - opsBefore).toBe(1);
      expect(text(disk.contentOf('/d/a'))).toBe('durable|in flight');
      return disk;
    }, (disk) => text(disk.contentOf('/d/a')));
    expect(rejection).toBeInstanceOf(PowerFailedError);
    expect(seen.has('durable|')).toBe(true);
    expect(seen.has('durable|in flight')).toBe(true);
    expect([...seen].some((s) => s !== 'durable|' && s !== 'durable|in flight')).toBe(true);
    for (const s of seen) expect(s.startsWith('durable|')).toBe(true);
  });

  it('rejects a durable write whose sync fails, leaving its bytes readable but not durable', async () => {
    let rejection: unknown = null;
    const seen = await outcomes(async () => {
      const { disk, file } = await durableFileHoldingPrefix();
      disk.injectError('fsync');
      rejection = await file.write(bytes('cached'), 8).then(() => null, (error: unknown) => error);
      expect(text(disk.contentOf('/d/a'))).toBe('durable|cached');
      return disk;
    }, (disk) => text(disk.contentOf('/d/a')));
    expect(rejection).toBeInstanceOf(DiskIoError);
    expect(seen.has('durable|')).toBe(true);
    for (const s of seen) expect(s.startsWith('durable|')).toBe(true);
  });

  it('leaves a truncate through a durable handle volatile until a sync', async () => {
    const seen = await outcomes(async () => {
      const disk = await diskWithDir();
      const file = await disk.open('/d/a', 'write-durable');
      await disk.syncDir('/d');
      await file.write(bytes('kept'), 0);
      await file.truncate(0);
      return disk;
    }, (disk) => text(disk.contentOf('/d/a')));
    expect([...seen].sort()).toEqual(['', 'kept']);
  });

  it('flips one bit of a durable file and says where', async () => {
    const disk = await diskWithDir();
    const file = await disk.open('/d/a', 'write');
    await file.write(new Uint8Array(64), 0);
    await file.sync();
    const offset = disk.flipBit('/d/a', new Prng(3));
    expect(offset).not.toBeNull();
    const content = disk.contentOf('/d/a') as Uint8Array;
    expect(content.filter((b) => b !== 0).length).toBe(1);
    expect(content[offset as number]).not.toBe(0);
  });
});
