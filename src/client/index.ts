/** raft-kv's typed client: `new KvClient({ endpoints })`, errors as KvError. */
export { KvClient, type Consistency, type KvClientOptions } from './kv-client.js';
export { KvError, NO_HTTP_STATUS, type ClientErrorCode } from './kv-error.js';
export type { ClusterAnswer, ClusterMember, LeaderInfo, NodeStatusAnswer, SnapshotAnswer, TransferAnswer } from './admin-answers.js';
export type { CasAnswer, DeleteAnswer, GetAnswer, ListAnswer, PutAnswer } from '../kv/commands.js';
