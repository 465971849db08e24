import { Router } from 'express';
import { modelTypeSchema } from '@edgeloop/shared';
import { z } from 'zod';
import type { HubServices } from '../../services.js';
import { parseInput } from '../validate.js';

const startBody = z.object({
  modelType: modelTypeSchema,
  version: z.number().int().positive(),
  observeMs: z.number().int().positive().optional(),
  reportTimeoutMs: z.number().int().positive().optional(),
});
const idParam = z.coerce.number().int().positive();
const reasonBody = z.object({ reason: z.string().min(1).max(500).default('manual') });
const rollbackBody = z.object({ version: z.number().int().positive() });

/** Admin: canary rollouts (start, list, manual promote / abort), fleet-wide signed rollback, hub events. */
export function rolloutRoutes(s: HubServices): Router {
  const r = Router();
  r.get('/rollouts', (_req, res) => {
    res.json({ rollouts: s.rollouts.list() });
  });
  r.get('/rollouts/:id', (req, res) => {
    res.json(s.rollouts.get(parseInput(idParam, req.params.id, 'rollout id')));
  });
  r.post('/rollouts', async (req, res) => {
    const b = parseInput(startBody, req.body, 'rollout');
    const overrides = { ...(b.observeMs ? { observeMs: b.observeMs } : {}), ...(b.reportTimeoutMs ? { reportTimeoutMs: b.reportTimeoutMs } : {}) };
    res.status(201).json(await s.rollouts.begin(b.modelType, b.version, overrides));
  });
  r.post('/rollouts/:id/promote', async (req, res) => {
    const id = parseInput(idParam, req.params.id, 'rollout id');
    res.json(await s.rollouts.promote(id, parseInput(reasonBody, req.body ?? {}, 'promote').reason));
  });
  r.post('/rollouts/:id/abort', async (req, res) => {
    const id = parseInput(idParam, req.params.id, 'rollout id');
    res.json(await s.rollouts.abort(id, parseInput(reasonBody, req.body ?? {}, 'abort').reason));
  });
  r.post('/models/:type/rollback', async (req, res) => {
    const type = parseInput(modelTypeSchema, req.params.type, 'model type');
    const b = parseInput(rollbackBody, req.body, 'rollback');
    res.json({ modelType: type, version: b.version, devices: await s.rollouts.rollbackTo(type, b.version) });
  });
  r.get('/events', (req, res) => {
    const limit = parseInput(z.coerce.number().int().min(1).max(1000).default(100), req.query.limit, 'limit');
    const type = req.query.type === undefined ? undefined : parseInput(z.string().max(64), req.query.type, 'type');
    res.json({ events: s.events.list({ type, limit }) });
  });
  return r;
}
