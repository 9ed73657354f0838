import { Module } from '@nestjs/common';
import { HttpSurfaceModule } from '../http/http-surface.module.js';
import { KvController } from './kv.controller.js';

/** SPEC 2's client API under /kv. */
@Module({ imports: [HttpSurfaceModule], controllers: [KvController] })
export class KvHttpModule {}
