/**
 * Request validation for the client and admin APIs: class-validator DTOs, unknown fields
 * refused (a misspelt `vaule` must not silently write nothing), every failure one 400
 * `bad_request` whose message names the field(s).
 */
import { type ArgumentMetadata, Injectable, ValidationPipe } from '@nestjs/common';
import type { ValidationError } from 'class-validator';
import { ApiError } from './api-error.js';

@Injectable()
export class ApiValidationPipe extends ValidationPipe {
  constructor() {
    super({
      whitelist: true,
      forbidNonWhitelisted: true,
      transform: true,
      // One message per field: "limit must be an integer number", not also "must not be less than 0".
      stopAtFirstError: true,
      exceptionFactory: (errors: ValidationError[]) => ApiError.badRequest(describeValidationErrors(errors)),
    });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    // JSON allows any value as a body; ours are always objects (or absent, for DELETE).
    if (metadata.type === 'body' && value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw ApiError.badRequest(`body: must be a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`);
    }
    return super.transform(value, metadata);
  }
}

/** "value must be a string; seq must be an integer number": class-validator's messages start with the field. */
export function describeValidationErrors(errors: readonly ValidationError[], parent = ''): string {
  const parts: string[] = [];
  for (const error of errors) {
    const field = parent === '' ? error.property : `${parent}.${error.property}`;
    for (const [constraint, message] of Object.entries(error.constraints ?? {})) {
      if (constraint === 'whitelistValidation') {
        parts.push(`${field}: unknown field`);
        continue;
      }
      parts.push(message.startsWith(error.property) ? field + message.slice(error.property.length) : `${field}: ${message}`);
    }
    if (error.children !== undefined && error.children.length > 0) parts.push(describeValidationErrors(error.children, field));
  }
  return parts.length > 0 ? parts.join('; ') : 'request: validation failed';
}
