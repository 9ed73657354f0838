import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { KvNode } from '../consensus/kv-node.port.js';
import { MetricsService } from '../metrics/metrics.service.js';

/** SPEC 3: `GET /metrics`, Prometheus text; gauges are read from the node's status now. */
@ApiTags('admin')
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly node: KvNode,
    private readonly metrics: MetricsService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Prometheus metrics' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'Prometheus text exposition format', example: '# TYPE raft_term gauge\nraft_term 3\n' })
  async scrape(@Res() res: Response): Promise<void> {
    const text = await this.metrics.render(this.node.status());
    res.status(200).setHeader('Cache-Control', 'no-store').type(this.metrics.contentType).send(text);
  }
}
