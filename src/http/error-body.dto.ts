import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** Swagger shape of SPEC 2's error body (api-error.ts has the type the code uses). */
export class ErrorBodyDto {
  @ApiProperty({
    example: 'no_leader',
    description: 'bad_request | unauthorized | not_found | stale_sequence | too_large | no_leader | unavailable | timeout | internal',
  })
  error!: string;

  @ApiProperty({ example: 'no leader is known; retry shortly' })
  message!: string;

  @ApiPropertyOptional({ example: 'n2', nullable: true, type: String, description: 'The leader this node knows of, if any.' })
  leaderId?: string | null;
}
