/**
 * Request and answer shapes of the client API (SPEC 2), validated with class-validator and
 * documented with @nestjs/swagger. Types only: limits that come from the config (key and value
 * bytes, list limit) and the clientId/seq pairing are checked by the controller with
 * command-validation.ts, which also decides 413 versus 400.
 */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsString, Max, Min, ValidateIf } from 'class-validator';

export const CONSISTENCY_LEVELS = ['linearizable', 'stale'] as const;
export type Consistency = (typeof CONSISTENCY_LEVELS)[number];

/** Optional exactly-once pair: both or neither (checked by the controller). */
export class ClientSequenceDto {
  @ApiPropertyOptional({
    description: 'Client session id for exactly-once writes; send it with `seq`.',
    example: 'billing-worker-7',
    maxLength: 128,
  })
  // null is refused rather than read as "absent": `{clientId: null}` is most likely a bug.
  @ValidateIf((o: ClientSequenceDto) => o.clientId !== undefined)
  @IsString()
  clientId?: string;

  @ApiPropertyOptional({
    description:
      "This write's sequence number in the client's session; increasing. A retry with the same clientId and seq " +
      'gets the first answer back without applying again; a seq below the latest applied one answers 409.',
    example: 42,
    minimum: 0,
    maximum: Number.MAX_SAFE_INTEGER,
  })
  @ValidateIf((o: ClientSequenceDto) => o.seq !== undefined)
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  seq?: number;
}

export class ValueBodyDto extends ClientSequenceDto {
  @ApiProperty({ description: 'UTF-8 string, at most 1 MiB (config valueBytesMax) when encoded.', example: 'blue' })
  @IsString()
  value!: string;
}

export class DeleteBodyDto extends ClientSequenceDto {}

export class CasBodyDto extends ClientSequenceDto {
  @ApiProperty({
    description: 'The value the key must hold for the swap to happen; null: the key must be absent (create-if-absent).',
    example: 'blue',
    nullable: true,
    type: String,
  })
  // Required, and null is a meaningful value: only undefined and non-strings are refused.
  @ValidateIf((o: CasBodyDto) => o.expected !== null)
  @IsString()
  expected!: string | null;

  @ApiProperty({ description: 'The new value if the key holds `expected`.', example: 'green' })
  @IsString()
  value!: string;
}

export class ReadQueryDto {
  @ApiPropertyOptional({
    enum: CONSISTENCY_LEVELS,
    default: 'linearizable',
    description: 'linearizable (default): confirmed by the leader (ReadIndex). stale: this node\'s local state, possibly behind.',
  })
  @ValidateIf((o: ReadQueryDto) => o.consistency !== undefined)
  @IsIn(CONSISTENCY_LEVELS)
  consistency?: Consistency;
}

export class ListQueryDto extends ReadQueryDto {
  @ApiPropertyOptional({ description: 'Only keys starting with this; empty or absent: all keys.', example: 'user/' })
  @ValidateIf((o: ListQueryDto) => o.prefix !== undefined)
  @IsString()
  prefix?: string;

  @ApiPropertyOptional({
    description: 'Most items to return; default and maximum: the config listLimitMax (10,000 unless changed).',
    example: 100,
    minimum: 0,
  })
  @ValidateIf((o: ListQueryDto) => o.limit !== undefined)
  @Type(() => Number)
  @IsInt()
  @Min(0)
  limit?: number;
}

export class KvAnswerDto {
  @ApiProperty({ example: 'color' })
  key!: string;
  @ApiProperty({ example: 'blue', description: 'For append: the whole new value.' })
  value!: string;
  @ApiProperty({ example: 1207, description: 'The Raft log index at which this answer holds.' })
  index!: number;
}

export class DeleteAnswerDto {
  @ApiProperty({ example: 'color' })
  key!: string;
  @ApiProperty({ example: true, description: 'Whether the key existed.' })
  deleted!: boolean;
  @ApiProperty({ example: 1208 })
  index!: number;
}

export class CasAnswerDto {
  @ApiProperty({ example: 'color' })
  key!: string;
  @ApiProperty({ example: true })
  succeeded!: boolean;
  @ApiProperty({ example: 'green', nullable: true, type: String, description: 'The current value after the operation; null if absent.' })
  value!: string | null;
  @ApiProperty({ example: 1209 })
  index!: number;
}

export class KvItemDto {
  @ApiProperty({ example: 'user/1' })
  key!: string;
  @ApiProperty({ example: 'ada' })
  value!: string;
}

export class ListAnswerDto {
  @ApiProperty({ type: [KvItemDto], description: 'Sorted by key (UTF-8 byte order).' })
  items!: KvItemDto[];
  @ApiProperty({ example: 1209 })
  index!: number;
}
