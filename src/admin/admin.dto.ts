import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, ValidateIf } from 'class-validator';

export class TransferLeadershipBodyDto {
  @ApiPropertyOptional({ description: 'Member to hand leadership to; absent: the most up-to-date follower.', example: 'n2' })
  @ValidateIf((o: TransferLeadershipBodyDto) => o.to !== undefined)
  @IsString()
  to?: string;
}

export class TransferLeadershipAnswerDto {
  @ApiProperty({ example: 'n1' })
  from!: string;
  @ApiProperty({ example: 'n2' })
  to!: string;
}

export class SnapshotAnswerDto {
  @ApiProperty({ example: 20417, description: 'Last log index the snapshot covers.' })
  index!: number;
  @ApiProperty({ example: 3 })
  term!: number;
  @ApiProperty({ example: 1833012 })
  bytes!: number;
}

/** Example bodies for Swagger. */
export const NODE_STATUS_EXAMPLE = {
  id: 'n1',
  nodeId: 'n1',
  role: 'leader',
  term: 3,
  leaderId: 'n1',
  votedFor: 'n1',
  commitIndex: 20417,
  lastApplied: 20417,
  lastLogIndex: 20417,
  lastLogTerm: 3,
  snapshot: { index: 20000, term: 3, bytes: 1833012 },
  wal: { segments: 1, bytes: 40811, firstIndex: 20001 },
  peers: [
    { id: 'n2', url: 'http://127.0.0.1:7002', matchIndex: 20417, nextIndex: 20418, lastContactMs: 12 },
    { id: 'n3', url: 'http://127.0.0.1:7003', matchIndex: 20417, nextIndex: 20418, lastContactMs: 9 },
  ],
  keys: 1500,
  sessions: 4,
  uptimeMs: 3600000,
} as const;
