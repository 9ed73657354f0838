/**
 * SPEC 2's client API. Every node serves it: a write or a linearizable read that this node
 * cannot serve (NotLeaderError) is forwarded to the leader and the leader's answer relayed.
 * Nothing here decides an outcome: writes go through `KvNode.write` (committed and applied
 * before it resolves), reads through the ReadIndex barrier then the local state machine.
 * Handlers write their answer with `res` directly, since a forwarded answer is streamed.
 */
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Req, Res, UsePipes } from '@nestjs/common';
import { ApiBody, ApiExcludeEndpoint, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { RaftConfig } from '../config/raft-config.js';
import { KvNode, NotLeaderError } from '../consensus/kv-node.port.js';
import { ApiError } from '../http/api-error.js';
import { ApiErrors } from '../http/api-docs.js';
import { LeaderForwarder } from '../http/leader-forwarder.js';
import { ApiValidationPipe } from '../http/validation.js';
import { checkKey, checkPrefix, checkWrite, type CommandProblem } from './command-validation.js';
import type { KvWriteCommand } from './commands.js';
import {
  CasAnswerDto,
  CasBodyDto,
  DeleteAnswerDto,
  DeleteBodyDto,
  KvAnswerDto,
  ListAnswerDto,
  ListQueryDto,
  ReadQueryDto,
  ValueBodyDto,
} from './kv.dto.js';

/**
 * A listing is built as one JSON string: refuse one whose keys and values exceed this many
 * UTF-16 units (about 64 MiB in memory) rather than exhaust the heap; 413 says to narrow it.
 */
export const LIST_ANSWER_CHARS_MAX = 32 * 1024 * 1024;

type WriteWithoutTime = KvWriteCommand extends infer C ? (C extends KvWriteCommand ? Omit<C, 'timeMs'> : never) : never;

const KEY_PARAM = ApiParam({
  name: 'key',
  description: 'Non-empty UTF-8, at most 1024 bytes, percent-encoded (a "/" in a key is sent as %2F).',
  example: 'color',
});

@ApiTags('kv')
@Controller('kv')
@UsePipes(ApiValidationPipe)
export class KvController {
  constructor(
    private readonly node: KvNode,
    private readonly config: RaftConfig,
    private readonly forwarder: LeaderForwarder,
  ) {}

  @Get()
  @ApiOperation({ summary: 'List keys by prefix', description: 'Up to `limit` keys starting with `prefix`, sorted by key.' })
  @ApiOkResponse({ type: ListAnswerDto, example: { items: [{ key: 'user/1', value: 'ada' }, { key: 'user/2', value: 'grace' }], index: 1209 } })
  @ApiErrors(400, 413, 503, 504)
  async list(@Query() query: ListQueryDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    const prefix = query.prefix ?? '';
    rejectProblem(checkPrefix(prefix, this.config));
    const limit = query.limit ?? this.config.listLimitMax;
    if (limit > this.config.listLimitMax) {
      throw ApiError.badRequest(`limit must not be greater than ${this.config.listLimitMax}`);
    }
    await this.answer(req, res, async () => {
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

  @Get(':key')
  @KEY_PARAM
  @ApiOperation({ summary: 'Read a key', description: 'Linearizable by default; `consistency=stale` answers from this node.' })
  @ApiOkResponse({ type: KvAnswerDto, example: { key: 'color', value: 'blue', index: 1207 } })
  @ApiErrors(400, 404, 413, 503, 504)
  async get(@Param('key') key: string, @Query() query: ReadQueryDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    rejectProblem(checkKey(key, this.config));
    await this.answer(req, res, async () => {
      await this.readBarrier(query.consistency);
      const found = this.node.stateMachine.get(key);
      if (found === null) throw ApiError.notFound(`key ${JSON.stringify(key)} not found`);
      return found;
    });
  }

  @Put(':key')
  @KEY_PARAM
  @ApiOperation({ summary: 'Write a key', description: 'Answered once committed and applied.' })
  @ApiBody({ type: ValueBodyDto, examples: { plain: { value: { value: 'blue' } }, exactlyOnce: { value: { value: 'blue', clientId: 'billing-worker-7', seq: 42 } } } })
  @ApiOkResponse({ type: KvAnswerDto, example: { key: 'color', value: 'blue', index: 1207 } })
  @ApiErrors(400, 409, 413, 503, 504)
  async put(@Param('key') key: string, @Body() body: ValueBodyDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.write(req, res, { op: 'put', key, value: body.value, ...sequenceOf(body) });
  }

  @Post(':key/append')
  @HttpCode(200)
  @KEY_PARAM
  @ApiOperation({ summary: 'Append to a key', description: 'Appends to the value (an absent key counts as ""); answers the whole new value.' })
  @ApiBody({ type: ValueBodyDto, examples: { plain: { value: { value: ',green' } }, exactlyOnce: { value: { value: ',green', clientId: 'billing-worker-7', seq: 43 } } } })
  @ApiOkResponse({ type: KvAnswerDto, example: { key: 'color', value: 'blue,green', index: 1208 } })
  @ApiErrors(400, 409, 413, 503, 504)
  async append(@Param('key') key: string, @Body() body: ValueBodyDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.write(req, res, { op: 'append', key, value: body.value, ...sequenceOf(body) });
  }

  @Delete(':key')
  @KEY_PARAM
  @ApiOperation({ summary: 'Delete a key', description: 'The body is optional: `{clientId, seq}` for exactly-once.' })
  @ApiBody({ type: DeleteBodyDto, required: false, examples: { none: { value: {} }, exactlyOnce: { value: { clientId: 'billing-worker-7', seq: 44 } } } })
  @ApiOkResponse({ type: DeleteAnswerDto, example: { key: 'color', deleted: true, index: 1209 } })
  @ApiErrors(400, 409, 413, 503, 504)
  async remove(@Param('key') key: string, @Body() body: DeleteBodyDto | undefined, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.write(req, res, { op: 'delete', key, ...sequenceOf(body ?? {}) });
  }

  @Post(':key/cas')
  @HttpCode(200)
  @KEY_PARAM
  @ApiOperation({
    summary: 'Compare and swap',
    description: 'Sets `value` only if the key holds `expected` (null: only if absent). Answers the current value either way.',
  })
  @ApiBody({
    type: CasBodyDto,
    examples: {
      swap: { value: { expected: 'blue', value: 'green' } },
      createIfAbsent: { value: { expected: null, value: 'blue' } },
      exactlyOnce: { value: { expected: 'blue', value: 'green', clientId: 'billing-worker-7', seq: 45 } },
    },
  })
  @ApiOkResponse({ type: CasAnswerDto, example: { key: 'color', succeeded: true, value: 'green', index: 1210 } })
  @ApiErrors(400, 409, 413, 503, 504)
  async cas(@Param('key') key: string, @Body() body: CasBodyDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    await this.write(req, res, { op: 'cas', key, expected: body.expected, value: body.value, ...sequenceOf(body) });
  }

  /** `PUT /kv/`: the key is empty, which is a bad request, not an unknown route. */
  @Put()
  @ApiExcludeEndpoint()
  putEmptyKey(): never {
    throw ApiError.badRequest('key: must not be empty');
  }

  @Delete()
  @ApiExcludeEndpoint()
  deleteEmptyKey(): never {
    throw ApiError.badRequest('key: must not be empty');
  }

  private async write(req: Request, res: Response, command: WriteWithoutTime): Promise<void> {
    rejectProblem(checkWrite({ ...command, timeMs: 0 } as KvWriteCommand, this.config));
    await this.answer(req, res, () => this.node.write(command));
  }

  private async readBarrier(consistency: ReadQueryDto['consistency']): Promise<void> {
    // Stale: local state, any node, no round trip. Otherwise ReadIndex (SPEC 2: never a plain
    // local read on a possibly deposed leader).
    if (consistency !== 'stale') await this.node.readBarrier();
  }

  /** Runs `work` here, or relays the leader's answer when this node does not lead. */
  private async answer(req: Request, res: Response, work: () => Promise<unknown>): Promise<void> {
    let result: unknown;
    try {
      result = await work();
    } catch (error) {
      if (error instanceof NotLeaderError) return this.forwarder.relay(req, res, error);
      throw error;
    }
    res.status(200).json(result);
  }
}

function sequenceOf(body: { clientId?: string; seq?: number }): { clientId?: string; seq?: number } {
  const out: { clientId?: string; seq?: number } = {};
  if (body.clientId !== undefined) out.clientId = body.clientId;
  if (body.seq !== undefined) out.seq = body.seq;
  return out;
}

function rejectProblem(problem: CommandProblem | null): void {
  if (problem === null) return;
  throw problem.error === 'too_large' ? ApiError.tooLarge(problem.message) : ApiError.badRequest(problem.message);
}
