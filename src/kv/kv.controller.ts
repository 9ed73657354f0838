/**
 * SPEC 2's client API as documented in /docs: the routes, their DTOs (validated by
 * ApiValidationPipe) and their Swagger descriptions. What each route does lives in
 * kv-requests.ts, shared with the client hot path (kv-hot-path.ts), which serves the common
 * requests before express and hands everything else to these routes. Every node serves the API:
 * a write or a linearizable read that this node cannot serve is relayed from the leader.
 * Handlers write their answer with `res` directly, since a forwarded answer is streamed.
 */
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query, Req, Res, UsePipes } from '@nestjs/common';
import { ApiBody, ApiExcludeEndpoint, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ApiError } from '../http/api-error.js';
import { ApiErrors } from '../http/api-docs.js';
import { writeJson } from '../http/json-answer.js';
import { ApiValidationPipe } from '../http/validation.js';
import { KvRequests, RELAYED, writeRequestOf } from './kv-requests.js';
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

const KEY_PARAM = ApiParam({
  name: 'key',
  description: 'Non-empty UTF-8, at most 1024 bytes, percent-encoded (a "/" in a key is sent as %2F).',
  example: 'color',
});

@ApiTags('kv')
@Controller('kv')
@UsePipes(ApiValidationPipe)
export class KvController {
  constructor(private readonly requests: KvRequests) {}

  @Get()
  @ApiOperation({ summary: 'List keys by prefix', description: 'Up to `limit` keys starting with `prefix`, sorted by key.' })
  @ApiOkResponse({ type: ListAnswerDto, example: { items: [{ key: 'user/1', value: 'ada' }, { key: 'user/2', value: 'grace' }], index: 1209 } })
  @ApiErrors(400, 413, 503, 504)
  async list(@Query() query: ListQueryDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    send(res, await this.requests.list(req, res, query));
  }

  @Get(':key')
  @KEY_PARAM
  @ApiOperation({ summary: 'Read a key', description: 'Linearizable by default; `consistency=stale` answers from this node.' })
  @ApiOkResponse({ type: KvAnswerDto, example: { key: 'color', value: 'blue', index: 1207 } })
  @ApiErrors(400, 404, 413, 503, 504)
  async get(@Param('key') key: string, @Query() query: ReadQueryDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    send(res, await this.requests.get(req, res, key, query.consistency));
  }

  @Put(':key')
  @KEY_PARAM
  @ApiOperation({ summary: 'Write a key', description: 'Answered once committed and applied.' })
  @ApiBody({ type: ValueBodyDto, examples: { plain: { value: { value: 'blue' } }, exactlyOnce: { value: { value: 'blue', clientId: 'billing-worker-7', seq: 42 } } } })
  @ApiOkResponse({ type: KvAnswerDto, example: { key: 'color', value: 'blue', index: 1207 } })
  @ApiErrors(400, 409, 413, 503, 504)
  async put(@Param('key') key: string, @Body() body: ValueBodyDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    send(res, await this.requests.write(req, res, writeRequestOf('put', key, body)));
  }

  @Post(':key/append')
  @HttpCode(200)
  @KEY_PARAM
  @ApiOperation({ summary: 'Append to a key', description: 'Appends to the value (an absent key counts as ""); answers the whole new value.' })
  @ApiBody({ type: ValueBodyDto, examples: { plain: { value: { value: ',green' } }, exactlyOnce: { value: { value: ',green', clientId: 'billing-worker-7', seq: 43 } } } })
  @ApiOkResponse({ type: KvAnswerDto, example: { key: 'color', value: 'blue,green', index: 1208 } })
  @ApiErrors(400, 409, 413, 503, 504)
  async append(@Param('key') key: string, @Body() body: ValueBodyDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    send(res, await this.requests.write(req, res, writeRequestOf('append', key, body)));
  }

  @Delete(':key')
  @KEY_PARAM
  @ApiOperation({ summary: 'Delete a key', description: 'The body is optional: `{clientId, seq}` for exactly-once.' })
  @ApiBody({ type: DeleteBodyDto, required: false, examples: { none: { value: {} }, exactlyOnce: { value: { clientId: 'billing-worker-7', seq: 44 } } } })
  @ApiOkResponse({ type: DeleteAnswerDto, example: { key: 'color', deleted: true, index: 1209 } })
  @ApiErrors(400, 409, 413, 503, 504)
  async remove(@Param('key') key: string, @Body() body: DeleteBodyDto | undefined, @Req() req: Request, @Res() res: Response): Promise<void> {
    send(res, await this.requests.write(req, res, writeRequestOf('delete', key, body ?? {})));
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
    send(res, await this.requests.write(req, res, writeRequestOf('cas', key, body)));
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
}

/** 200 with the answer, unless the leader's answer was relayed already. */
function send(res: Response, answer: object | typeof RELAYED): void {
  if (answer !== RELAYED) writeJson(res, 200, answer);
}
