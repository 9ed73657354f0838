/**
 * SPEC 3's admin API. Reads (`status`, `cluster`) are open; actions need the cluster token
 * when one is configured. Leadership transfer is the leader's to do: a follower forwards it.
 */
import { Body, Controller, Get, HttpCode, Post, Req, Res, UseGuards, UsePipes } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { RaftConfig } from '../config/raft-config.js';
import { KvNode, NotLeaderError, type NodeStatus } from '../consensus/kv-node.port.js';
import { ApiError } from '../http/api-error.js';
import { ApiErrors } from '../http/api-docs.js';
import { ClusterTokenGuard } from '../http/cluster-token.guard.js';
import { LeaderForwarder } from '../http/leader-forwarder.js';
import { ApiValidationPipe } from '../http/validation.js';
import { NODE_STATUS_EXAMPLE, SnapshotAnswerDto, TransferLeadershipAnswerDto, TransferLeadershipBodyDto } from './admin.dto.js';
import { ClusterStatusService, type ClusterView, MEMBER_STATUS_TIMEOUT_MS } from './cluster-status.service.js';

/** The name Swagger gives the cluster-token scheme (see swagger.ts). */
export const CLUSTER_TOKEN_SCHEME = 'cluster-token';

@ApiTags('admin')
@Controller('admin')
@UsePipes(ApiValidationPipe)
export class AdminController {
  constructor(
    private readonly node: KvNode,
    private readonly config: RaftConfig,
    private readonly clusterStatus: ClusterStatusService,
    private readonly forwarder: LeaderForwarder,
  ) {}

  @Get('status')
  @ApiOperation({ summary: "This node's Raft and storage status" })
  @ApiOkResponse({ description: 'SPEC 3 status', example: NODE_STATUS_EXAMPLE })
  status(): NodeStatus {
    return this.node.status();
  }

  @Get('cluster')
  @ApiOperation({
    summary: 'Every member as seen from this node',
    description: `This node's status plus each other member's /admin/status (timeout ${MEMBER_STATUS_TIMEOUT_MS} ms); unreachable members are marked \`reachable: false\` with the error.`,
  })
  @ApiOkResponse({
    description: 'members[0] is this node',
    example: {
      nodeId: 'n1',
      leaderId: 'n1',
      members: [
        { ...NODE_STATUS_EXAMPLE, url: 'http://127.0.0.1:7001', reachable: true, self: true },
        { id: 'n3', url: 'http://127.0.0.1:7003', reachable: false, self: false, error: 'ECONNREFUSED' },
      ],
    },
  })
  cluster(): Promise<ClusterView> {
    return this.clusterStatus.collect();
  }

  @Post('snapshot')
  @HttpCode(200)
  @UseGuards(ClusterTokenGuard)
  @ApiBearerAuth(CLUSTER_TOKEN_SCHEME)
  @ApiOperation({ summary: 'Take a snapshot now and compact the log' })
  @ApiOkResponse({ type: SnapshotAnswerDto, example: { index: 20417, term: 3, bytes: 1833012 } })
  @ApiErrors(401, 503)
  snapshot(): Promise<{ index: number; term: number; bytes: number }> {
    return this.node.takeSnapshot();
  }

  @Post('transfer-leadership')
  @HttpCode(200)
  @UseGuards(ClusterTokenGuard)
  @ApiBearerAuth(CLUSTER_TOKEN_SCHEME)
  @ApiOperation({
    summary: 'Hand leadership to another member',
    description: 'To `to`, or to the most up-to-date follower. Sent to a follower, it is forwarded to the leader.',
  })
  @ApiBody({ type: TransferLeadershipBodyDto, required: false, examples: { any: { value: {} }, to: { value: { to: 'n2' } } } })
  @ApiOkResponse({ type: TransferLeadershipAnswerDto, example: { from: 'n1', to: 'n2' } })
  @ApiErrors(400, 401, 503, 504)
  async transferLeadership(@Body() body: TransferLeadershipBodyDto | undefined, @Req() req: Request, @Res() res: Response): Promise<void> {
    const to = body?.to;
    if (to !== undefined && to !== this.config.id && !this.config.peers.some((p) => p.id === to)) {
      throw ApiError.badRequest(`to: ${JSON.stringify(to)} is not a member of this cluster`);
    }
    let answer: { from: string; to: string };
    try {
      answer = await this.node.transferLeadership(to);
    } catch (error) {
      if (error instanceof NotLeaderError) return this.forwarder.relay(req, res, error);
      throw error;
    }
    res.status(200).json(answer);
  }
}
