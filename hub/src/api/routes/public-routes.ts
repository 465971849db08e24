import { Router } from 'express';
import { canonicalize, MODEL_TYPE_OF_ROLE, modelTypeSchema, NotFoundError, sha256Schema } from '@edgeloop/shared';
import { z } from 'zod';
import type { HubServices } from '../../services.js';
import { requireDeviceOrAdmin } from '../device-auth.js';
import { parseInput } from '../validate.js';

const versionParams = z.object({ type: modelTypeSchema, version: z.coerce.number().int().positive() });

/**
 * Endpoints devices and outside verifiers use: keys, signed manifests, artifacts. Artifacts (networks,
 * the member gallery) need a device's Basic credentials or the admin token.
 */
export function publicRoutes(s: HubServices, adminToken: string): Router {
  const r = Router();
  r.get('/models/:type/versions/:version/manifest', (req, res) => {
    const p = parseInput(versionParams, req.params, 'path');
    const rec = s.registry.get(p.type, p.version);
    res.json({ ...rec.signed, canonical: canonicalize(rec.signed.signed) });
  });
  r.get('/artifacts/:sha256', requireDeviceOrAdmin(s.fleet, adminToken), async (req, res, next) => {
    const sha = parseInput(sha256Schema, req.params.sha256, 'artifact id');
    // One answer for unknown files and files this caller may not have: existence is not revealed.
    if (!mayDownload(s, res.locals, sha) || !s.artifacts.isServable(sha) || !(await s.artifacts.has(sha))) return next(new NotFoundError(`no artifact ${sha}`));
    res.setHeader('Cache-Control', 'private, max-age=31536000, immutable');
    res.sendFile(s.artifacts.pathOf(sha), { acceptRanges: true, dotfiles: 'deny' }, (err) => {
      if (err && !res.headersSent) next(err);
    });
  });
  return r;
}

/**
 * The admin may fetch any model file; a device only the files of the versions it may be told to run:
 * its desired version, the version in service and a running canary of its role's model type (never a
 * retired gallery that still holds a deleted member's templates).
 */
function mayDownload(s: HubServices, caller: Record<string, unknown>, sha256: string): boolean {
  if (caller.admin === true) return true;
  if (typeof caller.deviceId !== 'string') return false;
  const device = s.fleet.get(caller.deviceId);
  const mt = MODEL_TYPE_OF_ROLE[device.role];
  const versions = [device.desired[mt]?.version, s.registry.active(mt)?.version, s.rollouts.runningFor(mt)?.version];
  return versions.some((v) => v !== undefined && s.registry.versionHasFile(mt, v, sha256));
}
