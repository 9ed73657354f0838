/**
 * SPEC 3: with `--cluster-token`, `/raft/*` and the mutating `/admin/*` routes require
 * `Authorization: Bearer <token>`; without the token configured, everything is open.
 * Used by the admin controller here and by the peer transport for `/raft/*`:
 * `@UseGuards(ClusterTokenGuard)`. A failure throws UnauthorizedException, which the exception
 * filter answers as 401 `{error: "unauthorized", ...}`.
 */
import { timingSafeEqual } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { type CanActivate, type ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { RaftConfig } from '../config/raft-config.js';

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/**
 * Whether an `Authorization` header value carries `token` (null token: no check). Constant time
 * in the token's content, so the comparison leaks nothing but its length. Exported for handlers
 * outside Nest's guard pipeline (e.g. raw express routes of a peer transport).
 */
export function bearerTokenMatches(authorization: string | string[] | undefined, token: string | null): boolean {
  if (token === null) return true;
  if (typeof authorization !== 'string') return false;
  const presented = BEARER.exec(authorization)?.[1];
  if (presented === undefined) return false;
  const a = Buffer.from(presented, 'utf8');
  const b = Buffer.from(token, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

@Injectable()
export class ClusterTokenGuard implements CanActivate {
  constructor(private readonly config: RaftConfig) {}

  canActivate(context: ExecutionContext): boolean {
    const token = this.config.clusterToken;
    if (token === null) return true;
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined> }>();
    if (bearerTokenMatches(req.headers.authorization, token)) return true;
    throw new UnauthorizedException(
      req.headers.authorization === undefined
        ? 'authorization: this route requires "Authorization: Bearer <cluster token>"'
        : 'authorization: the bearer token does not match the cluster token',
    );
  }
}
