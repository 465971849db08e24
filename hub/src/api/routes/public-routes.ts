import { Router } from 'express';
import { canonicalize, modelTypeSchema, NotFoundError, sha256Schema } from '@edgeloop/shared';
import { z } from 'zod';
import type { HubServices } from '../../services.js';
import { parseInput } from '../validate.js';

const versionParams = z.object({ type: modelTypeSchema, version: z.coerce.number().int().positive() });

/** Endpoints devices and outside verifiers use: keys, signed manifests, artifacts. */
export function publicRoutes(s: HubServices): Router {
  const r = Router();
  r.get('/models/:type/versions/:version/manifest', (req, res) => {
    const p = parseInput(versionParams, req.params, 'path');
    const rec = s.registry.get(p.type, p.version);
    res.json({ ...rec.signed, canonical: canonicalize(rec.signed.signed) });
  });
  r.get('/artifacts/:sha256', async (req, res, next) => {
    const sha = parseInput(sha256Schema, req.params.sha256, 'artifact id');
    if (!s.artifacts.isServable(sha) || !(await s.artifacts.has(sha))) return next(new NotFoundError(`no artifact ${sha}`));
    res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    res.sendFile(s.artifacts.pathOf(sha), { acceptRanges: true, dotfiles: 'deny' }, (err) => {
      if (err && !res.headersSent) next(err);
    });
  });
  return r;
}
