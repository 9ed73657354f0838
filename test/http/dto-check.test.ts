/**
 * compileDtoCheck (src/http/dto-check.ts) may answer "not known to be valid" for a valid body
 * (the validation pipe then decides), never "valid" for a body the pipe would refuse or change.
 */
import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Type } from 'class-transformer';
import { IsDefined, IsInt, IsString, ValidateNested } from 'class-validator';
import { compileDtoCheck } from '../../src/http/dto-check.js';
import { CasBodyDto, ListQueryDto, ValueBodyDto } from '../../src/kv/kv.dto.js';

class TransformedDto {
  @Type(() => Number)
  @IsInt()
  n!: number;
}

class RequiredDto {
  @IsDefined()
  @IsString()
  s!: string;
}

class NestedDto {
  @ValidateNested()
  @Type(() => RequiredDto)
  inner!: RequiredDto;
}

describe('compileDtoCheck', () => {
  it('accepts exactly what the DTO decorators accept, for the client bodies', () => {
    const value = compileDtoCheck(ValueBodyDto);
    expect(value({ value: 'v' })).toBe(true);
    expect(value({ value: 'v', clientId: 'c', seq: 0 })).toBe(true);
    expect(value({ value: 'v', seq: Number.MAX_SAFE_INTEGER })).toBe(true); // the pairing is command-validation's
    expect(value({})).toBe(false);
    expect(value({ value: 1 })).toBe(false);
    expect(value({ value: 'v', seq: -1 })).toBe(false);
    expect(value({ value: 'v', seq: 1.5 })).toBe(false);
    expect(value({ value: 'v', seq: 2 ** 60 })).toBe(false);
    expect(value({ value: 'v', clientId: null, seq: 1 })).toBe(false);
    expect(value({ value: 'v', extra: 1 })).toBe(false);
    expect(value({ value: ['v'] })).toBe(false);
    const cas = compileDtoCheck(CasBodyDto);
    expect(cas({ expected: null, value: 'v' })).toBe(true);
    expect(cas({ expected: 'e', value: 'v' })).toBe(true);
    expect(cas({ value: 'v' })).toBe(false);
    expect(cas({ expected: 1, value: 'v' })).toBe(false);
  });

  it('declines every body of a DTO it cannot mirror: class-transformer changes, other metadata kinds', () => {
    expect(compileDtoCheck(ListQueryDto)({})).toBe(false);
    expect(compileDtoCheck(TransformedDto)({ n: 1 })).toBe(false);
    expect(compileDtoCheck(RequiredDto)({ s: 's' })).toBe(false);
    expect(compileDtoCheck(NestedDto)({})).toBe(false);
  });
});
