import { Router } from 'express';
import { z } from 'zod';
import type { HubServices } from '../../services.js';
import { parseInput } from '../validate.js';

/** Public: the root key, the signing keys with their certificates, and the root-signed key set. */
export function publicKeyRoutes(s: HubServices): Router {
  const r = Router();
  r.get('/keys', (_req, res) => {
    res.json({ root: { keyId: s.keys.root.keyId, publicKeyPem: s.keys.root.publicKeyPem }, keys: s.keys.publicKeys(), keySet: s.keys.keySet() });
  });
  return r;
}

/** Admin: rotate the signing key; revoke one (manifests and desired states are re-signed). */
export function adminKeyRoutes(s: HubServices): Router {
  const r = Router();
  r.post('/keys/rotate', async (_req, res) => {
    const key = await s.keys.rotate();
    await s.broker?.publishFleet('keys', s.keys.keySet());
    s.log.info({ keyId: key.keyId }, 'signing key rotated');
    res.status(201).json(key);
  });
  r.post('/keys/:keyId/revoke', async (req, res) => {
    const keyId = parseInput(z.string().regex(/^[0-9a-f]{16}$/), req.params.keyId, 'key id');
    await s.keys.revoke(keyId);
    const manifests = s.registry.resignManifests([keyId]);
    await s.broker?.publishFleet('keys', s.keys.keySet());
    const devices = await s.fleet.refreshManifests((type, version) => s.registry.get(type, version).signed);
    s.log.warn({ keyId, manifests, devices }, 'signing key revoked; manifests and desired states re-signed');
    res.json({ revoked: keyId, resignedManifests: manifests, refreshedDevices: devices, signingKey: s.keys.signing.keyId });
  });
  return r;
}
