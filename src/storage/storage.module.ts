import { Inject, Injectable, Module } from '@nestjs/common';
import { FileSystem } from './fs/file-system.js';
import { NodeFileSystem } from './fs/node-file-system.js';
import { RaftStorage, type RaftStorageOptions } from './raft-storage.js';

/** Opens a node's storage on the injected FileSystem (the real disk unless a test binds another). */
@Injectable()
export class RaftStorageFactory {
  constructor(@Inject(FileSystem) private readonly fs: FileSystem) {}

  open(dataDir: string, options: Omit<RaftStorageOptions, 'fs'> = {}): Promise<RaftStorage> {
    return RaftStorage.open(dataDir, { ...options, fs: this.fs });
  }
}

/** Storage is plain classes; this module only binds the FileSystem port and offers the factory. */
@Module({
  providers: [{ provide: FileSystem, useClass: NodeFileSystem }, RaftStorageFactory],
  exports: [FileSystem, RaftStorageFactory],
})
export class StorageModule {}
