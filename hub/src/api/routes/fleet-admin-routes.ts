import { Router } from 'express';
import { deviceIdSchema, deviceRoleSchema, modelTypeSchema } from '@edgeloop/shared';
import { z } from 'zod';
import type { HubServices } from '../../services.js';
import { parseInput } from '../validate.js';

const tokenBody = z.object({
  role: deviceRoleSchema,
  branch: z.string().min(1).max(64),
  deviceId: deviceIdSchema.optional(),
  ttlHours: z.number().positive().max(24 * 30).default(24),
});
const enrolBody = z.object({ token: z.string().min(20).max(200), deviceId: deviceIdSchema });
const pinBody = z.object({ pinned: z.boolean() });
const versionParams = z.object({ type: modelTypeSchema, version: z.coerce.number().int().positive() });

/** Public: a new device spends its one-time token for credentials and the root keys to trust. */
export function enrolmentRoutes(s: HubServices, urls: { mqttUrl: string; httpUrl: string }): Router {
  const r = Router();
  r.post('/enrol', async (req, res) => {
    const body = parseInput(enrolBody, req.body, 'enrolment');
    const creds = s.enrolment.enrol(body.token, body.deviceId);
    await s.rollout.assignDefault(creds.deviceId);
    res.status(201).json({ ...creds, mqttUrl: urls.mqttUrl, httpUrl: urls.httpUrl, rootKeysPem: [s.keys.root.publicKeyPem] });
  });
  return r;
}

/** Admin: enrolment tokens, device revocation, health history, version pinning. */
export function fleetAdminRoutes(s: HubServices): Router {
  const r = Router();
  r.post('/enrolment-tokens', (req, res) => {
    res.status(201).json(s.enrolment.createToken(parseInput(tokenBody, req.body, 'enrolment token')));
  });
  r.post('/devices/:id/revoke', async (req, res) => {
    const id = parseInput(deviceIdSchema, req.params.id, 'device id');
    await s.fleet.revoke(id);
    res.json({ revoked: id });
  });
  r.get('/devices/:id/health', (req, res) => {
    const id = parseInput(deviceIdSchema, req.params.id, 'device id');
    const limit = parseInput(z.coerce.number().int().min(1).max(10_000).default(100), req.query.limit, 'limit');
    s.fleet.get(id);
    res.json({ deviceId: id, health: s.fleet.health(id, limit) });
  });
  r.post('/models/:type/versions/:version/pin', (req, res) => {
    const p = parseInput(versionParams, req.params, 'path');
    const body = parseInput(pinBody, req.body, 'pin');
    s.registry.setPinned(p.type, p.version, body.pinned);
    res.json({ modelType: p.type, version: p.version, pinned: body.pinned });
  });
  return r;
}
