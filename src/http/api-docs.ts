/**
 * Swagger decorators for SPEC 2's error answers, with an example body for each status, so
 * every operation in /docs lists the errors it can give.
 */
import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import type { ApiErrorBody } from './api-error.js';
import { ErrorBodyDto } from './error-body.dto.js';

const EXAMPLES: Readonly<Record<number, { readonly description: string; readonly example: ApiErrorBody }>> = {
  400: {
    description: 'Validation failed; the message names the field.',
    example: { error: 'bad_request', message: 'value must be a string' },
  },
  401: {
    description: 'The cluster token is required (started with --cluster-token).',
    example: { error: 'unauthorized', message: 'authorization: this route requires "Authorization: Bearer <cluster token>"' },
  },
  404: { description: 'The key is absent.', example: { error: 'not_found', message: 'key "color" not found' } },
  409: {
    description: "seq is older than this client's latest applied one; nothing was applied.",
    example: { error: 'stale_sequence', message: 'seq 41 of client "billing-worker-7" is older than its latest applied seq 42' },
  },
  413: {
    description: 'Key or value over its limit.',
    example: { error: 'too_large', message: 'value: 1048577 bytes, over the limit of 1048576' },
  },
  503: {
    description: 'No leader known or no quorum; Retry-After is set. The write was NOT applied.',
    example: { error: 'no_leader', message: 'no leader is known; retry shortly', leaderId: null },
  },
  504: {
    description: 'Not committed in time: the outcome is unknown. Retry with the same clientId and seq.',
    example: { error: 'timeout', message: 'not committed within 5000 ms: the outcome is unknown; retry with the same clientId and seq' },
  },
};

export function ApiErrors(...statuses: (keyof typeof EXAMPLES)[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) => {
      const { description, example } = EXAMPLES[status]!;
      return ApiResponse({ status, description, type: ErrorBodyDto, example });
    }),
  );
}
