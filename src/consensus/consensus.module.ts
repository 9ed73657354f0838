import { Global, Module } from '@nestjs/common';
import { StorageModule } from '../storage/storage.module.js';
import { KvNode } from './kv-node.port.js';
import { RaftHostService } from './raft-host.service.js';
import { TickerService } from './ticker.service.js';
import { PeerPortListener } from './transport/peer-port-listener.js';
import { RaftPeerController } from './transport/raft-peer.controller.js';

/**
 * The replicated node: the Raft host (boot, Ready loop, snapshots), its ticker, the peer
 * transport and `/raft/*`. Global, so every HTTP module injects `KvNode` by type. Needs the
 * global ConfigModule and MetricsModule.
 */
@Global()
@Module({
  imports: [StorageModule],
  controllers: [RaftPeerController],
  providers: [RaftHostService, { provide: KvNode, useExisting: RaftHostService }, TickerService, PeerPortListener],
  exports: [KvNode, RaftHostService, PeerPortListener],
})
export class ConsensusModule {}
