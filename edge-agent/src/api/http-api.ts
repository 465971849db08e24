import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { EdgeloopError, httpStatusOf, type Logger, NotFoundError, ValidationError } from '@edgeloop/shared';
import { METRICS_CONTENT_TYPE } from '../telemetry/prometheus.js';

export interface AgentStatusSource {
  status(): Record<string, unknown>;
}

/** The local API the door controller and the tablet call. */
export function buildAgentApi(opts: {
  /** Image bytes → the JSON answer (a laundry classification or a face decision). */
  inference: { infer(image: Buffer): Promise<unknown> };
  status: AgentStatusSource;
  metrics: () => string;
  log: Logger;
  maxImageBytes: number;
}): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/v1/status', (_req, res) => {
    res.json(opts.status.status());
  });
  app.get('/metrics', (_req, res) => {
    res.type(METRICS_CONTENT_TYPE).send(opts.metrics());
  });
  app.post(
    '/v1/infer',
    express.raw({ type: () => true, limit: opts.maxImageBytes }),
    async (req, res) => {
      const body = req.body as unknown;
      if (!Buffer.isBuffer(body) || body.length === 0) throw new ValidationError('send the image bytes as the request body');
      res.json(await opts.inference.infer(body));
    },
  );
  app.use((req, _res, next) => next(new NotFoundError(`no route ${req.method} ${req.path}`)));
  app.use(((err, req, res, _next) => {
    const status = httpStatusOf(err);
    if (status >= 500 && status !== 503) opts.log.error({ err, url: req.originalUrl }, 'request failed');
    res.status(status).json({
      error: err instanceof EdgeloopError ? err.code : ((err as { type?: string }).type ?? 'internal'),
      message: status === 500 && !(err instanceof EdgeloopError) ? 'internal error' : (err as Error).message,
    });
  }) as express.ErrorRequestHandler);
  return app;
}

export async function listenApi(app: express.Express, host: string, port: number): Promise<Server> {
  const server = createServer(app);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

export function apiPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}
