import { Module } from '@nestjs/common';
import { HttpSurfaceModule } from '../http/http-surface.module.js';
import { AdminController } from './admin.controller.js';
import { ClusterStatusService } from './cluster-status.service.js';
import { HealthController } from './health.controller.js';
import { MetricsController } from './metrics.controller.js';

/** SPEC 3: /admin/*, /health, /health/ready and /metrics. */
@Module({
  imports: [HttpSurfaceModule],
  controllers: [AdminController, HealthController, MetricsController],
  providers: [ClusterStatusService],
})
export class AdminModule {}
