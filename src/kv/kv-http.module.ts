import { Module } from '@nestjs/common';
import { HttpSurfaceModule } from '../http/http-surface.module.js';
import { KvHotPath } from './kv-hot-path.js';
import { KvRequests } from './kv-requests.js';
import { KvController } from './kv.controller.js';

/** SPEC 2's client API under /kv: the documented controller, and the hot path in front of it. */
@Module({ imports: [HttpSurfaceModule], controllers: [KvController], providers: [KvRequests, KvHotPath], exports: [KvHotPath] })
export class KvHttpModule {}
