import { Router } from 'express';
import { deviceIdSchema, deviceRoleSchema, modelTypeSchema } from '@edgeloop/shared';
import { z } from 'zod';
import type { HubServices } from '../../services.js';
import { parseInput } from '../validate.js';

const newDeviceBody = z.object({ id: deviceIdSchema, role: deviceRoleSchema, branch: z.string().min(1).max(64).default('main') });
const deploymentBody = z.object({
  modelType: modelTypeSchema,
  version: z.number().int().positive(),
  deviceIds: z.array(deviceIdSchema).min(1).optional(),
});

/** Endpoints for administrators; mounted behind the admin token. */
export function adminRoutes(s: HubServices): Router {
  const r = Router();
  r.get('/devices', (_req, res) => {
    res.json({ devices: s.fleet.list() });
  });
  r.get('/devices/:id', (req, res) => {
    res.json(s.fleet.get(parseInput(deviceIdSchema, req.params.id, 'device id')));
  });
  r.post('/devices', async (req, res) => {
    const body = parseInput(newDeviceBody, req.body, 'device');
    const creds = s.fleet.issueCredentials(body);
    await s.rollout.assignDefault(body.id);
    res.status(201).json({ ...creds, mqttUsername: creds.deviceId });
  });
  r.get('/models/:type/versions', (req, res) => {
    const type = parseInput(modelTypeSchema, req.params.type, 'model type');
    res.json({ versions: s.registry.list(type).map(({ signed, ...rest }) => ({ ...rest, manifest: signed.signed })) });
  });
  r.post('/deployments', async (req, res) => {
    const body = parseInput(deploymentBody, req.body, 'deployment');
    const devices = await s.rollout.deploy(body.modelType, body.version, body.deviceIds);
    res.status(202).json({ modelType: body.modelType, version: body.version, devices });
  });
  return r;
}
