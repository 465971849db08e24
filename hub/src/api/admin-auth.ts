import { timingSafeEqual, createHash } from 'node:crypto';
import type { RequestHandler } from 'express';
import { UnauthorizedError } from '@edgeloop/shared';

/** Whether an Authorization header is `Bearer <admin token>` (compared in constant time). */
export function adminTokenCheck(token: string): (authorization: string | undefined) => boolean {
  const expected = createHash('sha256').update(token).digest();
  return (authorization) => {
    const m = /^Bearer (.+)$/.exec(authorization ?? '');
    const given = createHash('sha256').update(m?.[1] ?? '').digest();
    return !!m && timingSafeEqual(given, expected);
  };
}

/** Requires `Authorization: Bearer <admin token>` (compared in constant time). */
export function requireAdmin(token: string): RequestHandler {
  const isAdmin = adminTokenCheck(token);
  return (req, _res, next) => {
    if (!isAdmin(req.get('authorization'))) return next(new UnauthorizedError('admin token required'));
    next();
  };
}
