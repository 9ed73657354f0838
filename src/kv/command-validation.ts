/**
 * Checks a write before it is proposed, so nothing the state machine would have to refuse
 * ever reaches the log (apply cannot refuse by a node's own limits: replicas must agree).
 * Gives SPEC 2's error codes: 413 `too_large` for a key or value over its byte limit,
 * 400 `bad_request` for everything else, with a message naming the field.
 */
import { Buffer } from 'node:buffer';
import type { KvWriteCommand } from './commands.js';

export interface CommandLimits {
  readonly keyBytesMax: number;
  readonly valueBytesMax: number;
}

/** Client ids are echoed into the replicated session table: keep them short. */
export const CLIENT_ID_BYTES_MAX = 128;

export interface CommandProblem {
  readonly error: 'bad_request' | 'too_large';
  readonly field: string;
  readonly message: string;
}

/** A lone surrogate cannot be encoded as UTF-8; it would come back as U+FFFD, a different key. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function checkKey(key: string, limits: CommandLimits): CommandProblem | null {
  if (key.length === 0) return badRequest('key', 'must not be empty');
  return checkString('key', key, limits.keyBytesMax);
}

/** A prefix for listing: may be empty, otherwise like a key. */
export function checkPrefix(prefix: string, limits: CommandLimits): CommandProblem | null {
  return checkString('prefix', prefix, limits.keyBytesMax);
}

export function checkWrite(command: KvWriteCommand, limits: CommandLimits): CommandProblem | null {
  const keyProblem = checkKey(command.key, limits);
  if (keyProblem !== null) return keyProblem;
  if (command.op !== 'delete') {
    const valueProblem = checkString('value', command.value, limits.valueBytesMax);
    if (valueProblem !== null) return valueProblem;
  }
  if (command.op === 'cas' && command.expected !== null) {
    const expectedProblem = checkString('expected', command.expected, limits.valueBytesMax);
    if (expectedProblem !== null) return expectedProblem;
  }
  return checkClientSequence(command.clientId, command.seq);
}

export function checkClientSequence(clientId: string | undefined, seq: number | undefined): CommandProblem | null {
  if (clientId === undefined && seq === undefined) return null;
  if (clientId === undefined) return badRequest('clientId', 'is required with seq');
  if (seq === undefined) return badRequest('seq', 'is required with clientId');
  if (clientId.length === 0) return badRequest('clientId', 'must not be empty');
  const clientIdProblem = checkString('clientId', clientId, CLIENT_ID_BYTES_MAX);
  if (clientIdProblem !== null) return { ...clientIdProblem, error: 'bad_request' };
  if (!Number.isSafeInteger(seq) || seq < 0) return badRequest('seq', `must be a non-negative integer, got ${seq}`);
  return null;
}

function checkString(field: string, s: string, bytesMax: number): CommandProblem | null {
  // Cheap bound first: a string of n UTF-16 units has at most 3n UTF-8 bytes.
  if (s.length * 3 > bytesMax) {
    const bytes = Buffer.byteLength(s, 'utf8');
    if (bytes > bytesMax) {
      return { error: 'too_large', field, message: `${field}: ${bytes} bytes, over the limit of ${bytesMax}` };
    }
  }
  if (LONE_SURROGATE.test(s)) return badRequest(field, 'must be valid UTF-8 (has a lone surrogate)');
  return null;
}

function badRequest(field: string, what: string): CommandProblem {
  return { error: 'bad_request', field, message: `${field}: ${what}` };
}
