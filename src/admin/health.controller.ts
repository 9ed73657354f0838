import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { KvNode } from '../consensus/kv-node.port.js';
import { ApiError } from '../http/api-error.js';
import { ApiErrors } from '../http/api-docs.js';

/** SPEC 3: liveness (`/health`) and readiness (`/health/ready`), for load balancers and orchestrators. */
@ApiTags('admin')
@Controller('health')
export class HealthController {
  constructor(private readonly node: KvNode) {}

  @Get()
  @ApiOperation({ summary: 'Liveness: 200 while the process serves' })
  @ApiOkResponse({ example: { status: 'ok', nodeId: 'n1' } })
  live(): { status: 'ok'; nodeId: string } {
    return { status: 'ok', nodeId: this.node.identity().nodeId };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: 200 once a leader is known and its commit index applied; 503 before' })
  @ApiOkResponse({ example: { status: 'ready', nodeId: 'n1', leaderId: 'n2' } })
  @ApiErrors(503)
  ready(): { status: 'ready'; nodeId: string; leaderId: string | null } {
    const identity = this.node.identity();
    if (!this.node.isReady()) {
      const why = identity.leaderId === null ? 'no leader is known' : 'the commit index is not applied yet';
      throw new ApiError(503, 'unavailable', `not ready: ${why}`, { leaderId: identity.leaderId, retryAfterSeconds: 1 });
    }
    return { status: 'ready', nodeId: identity.nodeId, leaderId: identity.leaderId };
  }
}
