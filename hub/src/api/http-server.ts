import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { type ModelType, NotFoundError } from '@edgeloop/shared';
import type { HubServices } from '../services.js';
import { adminPageHandler } from '../web/admin-page.js';
import { metricsHandler } from '../metrics/hub-metrics.js';
import { requireAdmin } from './admin-auth.js';
import { requireDevice } from './device-auth.js';
import { adminIntakeRoutes, deviceIntakeRoutes } from './routes/intake-routes.js';
import { errorMiddleware } from './errors.js';
import { adminRoutes } from './routes/admin-routes.js';
import { enrolmentRoutes, fleetAdminRoutes } from './routes/fleet-admin-routes.js';
import { rolloutRoutes } from './routes/rollout-routes.js';
import { trainingRoutes } from './routes/training-routes.js';
import { adminKeyRoutes, publicKeyRoutes } from './routes/key-routes.js';
import { publicRoutes } from './routes/public-routes.js';

export function buildHttpApp(
  s: HubServices,
  adminToken: string,
  urls: { mqttUrl: string; httpUrl: string },
  training: { maxEpochs: Record<ModelType, number> },
): express.Express {
  const app = express();
  app.disable('x-powered-by');
  // Before the 1 MB JSON parser and the admin mount: these routers parse their own (photo) bodies.
  app.use('/api/v1/device', requireDevice(s.fleet), deviceIntakeRoutes(s.intake, s.fleet));
  app.use('/api/v1/intake', requireAdmin(adminToken), adminIntakeRoutes(s.intake, s.members));
  app.get('/metrics', metricsHandler(s.db, () => s.broker?.connectedClients ?? 0));
  app.use(express.json({ limit: '1mb' }));
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, mqttClients: s.broker?.connectedClients ?? 0 });
  });
  app.get('/', adminPageHandler());
  app.use('/api/v1', publicRoutes(s, adminToken), publicKeyRoutes(s), enrolmentRoutes(s, urls));
  app.use('/api/v1', requireAdmin(adminToken), adminRoutes(s), adminKeyRoutes(s), fleetAdminRoutes(s), rolloutRoutes(s), trainingRoutes(s, training.maxEpochs));
  app.use((req, _res, next) => next(new NotFoundError(`no route ${req.method} ${req.path}`)));
  app.use(errorMiddleware(s.log.child({ module: 'http' })));
  return app;
}

export async function listen(app: express.Express, host: string, port: number, tls: { cert: Buffer; key: Buffer } | null = null): Promise<Server> {
  const server = tls ? createHttpsServer(tls, app) : createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}
