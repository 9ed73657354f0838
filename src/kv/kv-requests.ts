/**
 * What SPEC 2's client API does for each request, shared by the documented Nest controller
 * (kv.controller.ts) and the client hot path (kv-hot-path.ts), so the two cannot answer
 * differently. Nothing here decides an outcome: writes go through `KvNode.write` (committed and
 * applied before it resolves), reads through the ReadIndex barrier then the local state machine.
 *
 * Each call resolves with the answer to send as 200 JSON, or `RELAYED` when this node does not
 * lead and the leader's answer has already been streamed to `res`. Errors are thrown: ApiError,
 * or the node's own (NotLeaderError aside), for the caller to classify with `toApiError`.
 */
import type { ServerResponse } from 'node:http';
import { Injectable } from '@nestjs/common';
import { RaftConfig } from '../config/raft-config.js';
import { KvNode, type KvWriteRequest, NotLeaderError } from '../consensus/kv-node.port.js';
import { ApiError } from '../http/api-error.js';
import { type ForwardableRequest, LeaderForwarder } from '../http/leader-forwarder.js';
import { checkKey, checkPrefix, checkWrite, type CommandProblem } from './command-validation.js';
import type { GetAnswer, KvWriteAnswer, KvWriteCommand, ListAnswer } from './commands.js';
import type { Consistency } from './kv.dto.js';

/**
 * A listing is built as one JSON string: refuse one whose keys and values exceed this many
 * UTF-16 units (about 64 MiB in memory) rather than exhaust the heap; 413 says to narrow it.
 */
export const LIST_ANSWER_CHARS_MAX = 32 * 1024 * 1024;

/** The answer was the leader's, already relayed to the client. */
export const RELAYED = Symbol('relayed');
export type Relayed = typeof RELAYED;

@Injectable()
export class KvRequests {
  constructor(
    private readonly node: KvNode,
    private readonly config: RaftConfig,
    private readonly forwarder: LeaderForwarder,
  ) {}

  /** PUT, append, DELETE, cas: limits checked (command-validation.ts), then proposed. */
  async write(req: ForwardableRequest, res: ServerResponse, command: KvWriteRequest): Promise<KvWriteAnswer | Relayed> {
    throwIfProblem(checkWrite({ ...command, timeMs: 0 } as KvWriteCommand, this.config));
    return this.answer(req, res, () => this.node.write(command));
  }

  async get(req: ForwardableRequest, res: ServerResponse, key: string, consistency: Consistency | undefined): Promise<GetAnswer | Relayed> {
    throwIfProblem(checkKey(key, this.config));
    return this.answer(req, res, async () => {
      await this.readBarrier(consistency);
      const found = this.node.stateMachine.get(key);
      if (found === null) throw ApiError.notFound(`key ${JSON.stringify(key)} not found`);
      return found;
    });
  }

  async list(
    req: ForwardableRequest,
    res: ServerResponse,
    query: { readonly prefix?: string; readonly limit?: number; readonly consistency?: Consistency },
  ): Promise<ListAnswer | Relayed> {
    const prefix = query.prefix ?? '';
    throwIfProblem(checkPrefix(prefix, this.config));
    const limit = query.limit ?? this.config.listLimitMax;
    if (limit > this.config.listLimitMax) {
      throw ApiError.badRequest(`limit must not be greater than ${this.config.listLimitMax}`);
    }
    return this.answer(req, res, async () => {
      await this.readBarrier(query.consistency);
      const answer = this.node.stateMachine.list(prefix, limit);
      let chars = 0;
      for (const item of answer.items) chars += item.key.length + item.value.length;
      if (chars > LIST_ANSWER_CHARS_MAX) {
        throw ApiError.tooLarge(`the listing holds ${chars} characters, over the limit of ${LIST_ANSWER_CHARS_MAX}; use a smaller limit or a longer prefix`);
      }
      return answer;
    });
  }

  private async readBarrier(consistency: Consistency | undefined): Promise<void> {
    // Stale: local state, any node, no round trip. Otherwise ReadIndex (SPEC 2: never a plain
    // local read on a possibly deposed leader).
    if (consistency !== 'stale') await this.node.readBarrier();
  }

  /** Runs `work` here, or relays the leader's answer when this node does not lead. */
  private async answer<T>(req: ForwardableRequest, res: ServerResponse, work: () => Promise<T>): Promise<T | Relayed> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof NotLeaderError)) throw error;
      await this.forwarder.relay(req, res, error);
      return RELAYED;
    }
  }
}

/** The exactly-once pair of a body, only the fields present (a write without them has none). */
/** The write routes, by the op they propose. */
export type WriteRoute = 'put' | 'append' | 'cas' | 'delete';

/** A write route's body once validated (by the DTO's decorators): the fields its route needs are present. */
export type WriteBody = { readonly value?: string; readonly expected?: string | null; readonly clientId?: string; readonly seq?: number };

/** The command a write route proposes, for the controller and the hot path alike. */
export function writeRequestOf(route: WriteRoute, key: string, body: WriteBody): KvWriteRequest {
  switch (route) {
    case 'put':
      return { op: 'put', key, value: body.value!, ...sequenceOf(body) };
    case 'append':
      return { op: 'append', key, value: body.value!, ...sequenceOf(body) };
    case 'cas':
      return { op: 'cas', key, expected: body.expected!, value: body.value!, ...sequenceOf(body) };
    case 'delete':
      return { op: 'delete', key, ...sequenceOf(body) };
  }
}

function sequenceOf(body: { readonly clientId?: string; readonly seq?: number }): { clientId?: string; seq?: number } {
  const out: { clientId?: string; seq?: number } = {};
  if (body.clientId !== undefined) out.clientId = body.clientId;
  if (body.seq !== undefined) out.seq = body.seq;
  return out;
}

/** SPEC 2: 413 too_large for a key or value over its limit, 400 bad_request otherwise. */
export function problemToApiError(problem: CommandProblem): ApiError {
  return problem.error === 'too_large' ? ApiError.tooLarge(problem.message) : ApiError.badRequest(problem.message);
}

function throwIfProblem(problem: CommandProblem | null): void {
  if (problem !== null) throw problemToApiError(problem);
}
