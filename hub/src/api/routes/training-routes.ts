import { Router } from 'express';
import { type ModelType, modelTypeSchema } from '@edgeloop/shared';
import { z } from 'zod';
import type { HubServices } from '../../services.js';
import { parseInput } from '../validate.js';

const startBody = z.object({ modelType: modelTypeSchema, seed: z.number().int().nonnegative().max(2 ** 31).optional() });
const idParam = z.coerce.number().int().positive();
const listQuery = z.object({ modelType: modelTypeSchema.optional(), limit: z.coerce.number().int().min(1).max(500).default(50) });

/**
 * Admin: training runs (manual trigger, status with live progress, approval of held candidates).
 * `maxEpochs`: the most epochs a run of each type trains (the console shows "epoch n / max").
 */
export function trainingRoutes(s: HubServices, maxEpochs: Record<ModelType, number>): Router {
  const r = Router();
  r.get('/training/runs', (req, res) => {
    const q = parseInput(listQuery, req.query, 'query');
    res.json({ runs: s.trainingRuns.list(q) });
  });
  r.get('/training/runs/:id', (req, res) => {
    const id = parseInput(idParam, req.params.id, 'run id');
    const run = s.trainingRuns.get(id);
    res.json({ ...run, maxEpochs: maxEpochs[run.modelType], progress: s.trainingRuns.progress(id) });
  });
  r.post('/training/runs', (req, res) => {
    const b = parseInput(startBody, req.body, 'training run');
    res.status(202).json(s.saga.start(b.modelType, 'manual', b.seed ?? Math.floor(Date.now() / 86_400_000)));
  });
  r.post('/training/runs/:id/approve', (req, res) => {
    res.json(s.saga.approve(parseInput(idParam, req.params.id, 'run id'), 'admin'));
  });
  r.post('/training/runs/:id/dismiss', (req, res) => {
    res.json(s.saga.dismiss(parseInput(idParam, req.params.id, 'run id'), 'admin'));
  });
  return r;
}
