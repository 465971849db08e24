import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { NotFoundError } from '@edgeloop/shared';
import type { HubServices } from '../services.js';
import { adminPage } from '../web/admin-page.js';
import { requireAdmin } from './admin-auth.js';
import { errorMiddleware } from './errors.js';
import { adminRoutes } from './routes/admin-routes.js';
import { adminKeyRoutes, publicKeyRoutes } from './routes/key-routes.js';
import { publicRoutes } from './routes/public-routes.js';

export function buildHttpApp(s: HubServices, adminToken: string): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '1mb' }));
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, mqttClients: s.broker?.connectedClients ?? 0 });
  });
  app.get('/', (_req, res) => {
    res.type('html').send(adminPage());
  });
  app.use('/api/v1', publicRoutes(s), publicKeyRoutes(s));
  app.use('/api/v1', requireAdmin(adminToken), adminRoutes(s), adminKeyRoutes(s));
  app.use((req, _res, next) => next(new NotFoundError(`no route ${req.method} ${req.path}`)));
  app.use(errorMiddleware(s.log.child({ module: 'http' })));
  return app;
}

export async function listen(app: express.Express, host: string, port: number): Promise<Server> {
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}
