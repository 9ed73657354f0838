/**
 * SPEC 2: every answer carries `X-Raft-Node` (the node that answered), `X-Raft-Leader` and
 * `X-Raft-Term`, whatever produced it (a controller, the error filter, body parsing, an unknown
 * route, Swagger). The values are taken when the status line is written, not when the request
 * arrived, so a write that waited through an election reports the leader of its answer.
 */
import type { ServerResponse } from 'node:http';
import type { NodeIdentity } from '../consensus/kv-node.port.js';

export const RAFT_NODE_HEADER = 'x-raft-node';
export const RAFT_LEADER_HEADER = 'x-raft-leader';
export const RAFT_TERM_HEADER = 'x-raft-term';

/**
 * Sets the three headers unless an answer relayed from the leader already carries them: then
 * they name the leader, the node that really answered.
 */
export function setRaftHeaders(res: ServerResponse, identity: NodeIdentity): void {
  if (res.headersSent || res.hasHeader(RAFT_NODE_HEADER)) return;
  res.setHeader(RAFT_NODE_HEADER, identity.nodeId);
  // Empty while no leader is known: the header is always there, so clients need no special case.
  res.setHeader(RAFT_LEADER_HEADER, identity.leaderId ?? '');
  res.setHeader(RAFT_TERM_HEADER, String(identity.term));
}

type WriteHead = ServerResponse['writeHead'];

/**
 * Makes `res` call `beforeHead(res)` once, just before its status line and headers are written
 * (also for `res.end()` without an explicit writeHead: node's implicit header goes through
 * `writeHead`).
 */
export function onBeforeHead(res: ServerResponse, beforeHead: (res: ServerResponse) => void): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: Parameters<WriteHead>) {
    res.writeHead = writeHead;
    beforeHead(this);
    return writeHead.apply(this, args);
  } as WriteHead;
}
