import type { IncomingMessage } from 'node:http';
import { Controller, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { RaftHostService } from '../raft-host.service.js';
import type { PeerRpcAnswer } from './peer-rpc-handler.js';

/** The body went past its limit while being read. */
class BodyTooLargeError extends Error {}

/**
 * `POST /raft/:route`: peer RPC (the endpoints are listed in peer-routes.ts). The body is read
 * raw (`application/octet-stream`, binary, never JSON-parsed) and handed to PeerRpcHandler;
 * the answer is written here directly, in SPEC's error shape when it is one. Internal: not in
 * the OpenAPI document. The common requests never get here: the peer hot path (peer-hot-path.ts)
 * answers them the same way before express; this route serves what it hands on.
 */
@ApiExcludeController()
@Controller('raft')
export class RaftPeerController {
  constructor(private readonly node: RaftHostService) {}

  @Post(':route')
  @HttpCode(204)
  async receive(@Param('route') route: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const rpc = this.node.peerRpc;
    if (rpc === null) return send(res, { status: 503, body: { error: 'unavailable', message: 'the node is starting' } });
    // Refuse before reading a byte: neither an unknown endpoint nor a stranger gets to upload.
    if (!rpc.isAuthorized(req.headers.authorization)) return send(res, rpc.unauthorized(), true);
    if (!rpc.isKnownRoute(route)) return send(res, { status: 404, body: { error: 'not_found', message: `no peer endpoint /raft/${route}` } }, true);
    const contentType = req.headers['content-type'] ?? '';
    if (!contentType.startsWith('application/octet-stream')) {
      return send(res, { status: 415, body: { error: 'unsupported_media_type', message: 'peer RPC bodies are application/octet-stream' } }, true);
    }
    let body: Buffer;
    try {
      body = await readBody(req, this.node.peerBodyBytesMax(route));
    } catch (error) {
      if (error instanceof BodyTooLargeError) return send(res, { status: 413, body: { error: 'too_large', message: error.message } }, true);
      throw error;
    }
    send(res, await rpc.handle(route, req.headers.authorization, body));
  }
}

function send(res: Response, answer: PeerRpcAnswer, closeConnection = false): void {
  // An unread request body would otherwise be parsed as the next request on this connection.
  if (closeConnection) res.setHeader('connection', 'close');
  if (answer.reply !== undefined) res.status(answer.status).type('application/octet-stream').end(Buffer.from(answer.reply));
  else if (answer.body === undefined) res.status(answer.status).end();
  else res.status(answer.status).json(answer.body);
}

async function readBody(req: IncomingMessage, bytesMax: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > bytesMax) throw new BodyTooLargeError(`body of ${declared} bytes is over the limit of ${bytesMax}`);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > bytesMax) throw new BodyTooLargeError(`body is over the limit of ${bytesMax} bytes`);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
}
