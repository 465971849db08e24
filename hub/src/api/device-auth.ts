import type { RequestHandler } from 'express';
import { UnauthorizedError } from '@edgeloop/shared';
import { adminTokenCheck } from './admin-auth.js';

export const DEVICE_REALM = 'edgeloop-device';

/**
 * Requires HTTP Basic auth with a device's MQTT credentials (username = device id). On success the
 * device id is in `res.locals.deviceId`; otherwise 401 with a `WWW-Authenticate` challenge.
 */
export function requireDevice(fleet: { authenticate(id: string, password: string): boolean }): RequestHandler {
  return (req, res, next) => {
    const creds = basicCredentials(req.get('authorization'));
    if (!creds || !fleet.authenticate(creds.user, creds.password)) {
      res.set('WWW-Authenticate', `Basic realm="${DEVICE_REALM}"`);
      return next(new UnauthorizedError('device credentials required'));
    }
    res.locals.deviceId = creds.user;
    next();
  };
}

/**
 * Admits the admin bearer token (`res.locals.admin` is true) or a device's Basic credentials as
 * `requireDevice` does; anything else is answered 401 with the device challenge.
 */
export function requireDeviceOrAdmin(fleet: { authenticate(id: string, password: string): boolean }, adminToken: string): RequestHandler {
  const isAdmin = adminTokenCheck(adminToken);
  const device = requireDevice(fleet);
  return (req, res, next) => {
    if (!isAdmin(req.get('authorization'))) return device(req, res, next);
    res.locals.admin = true;
    next();
  };
}

/** `Basic base64(user:password)`; the user id cannot contain a colon, the password may (RFC 7617). */
export function basicCredentials(header: string | undefined): { user: string; password: string } | null {
  const m = /^Basic[ ]+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(header ?? '');
  if (!m?.[1]) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
