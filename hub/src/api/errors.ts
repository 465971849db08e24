import type { ErrorRequestHandler } from 'express';
import { EdgeloopError, httpStatusOf, type Logger, ValidationError } from '@edgeloop/shared';

export function errorMiddleware(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const status = httpStatusOf(err);
    const body: Record<string, unknown> = {
      error: err instanceof EdgeloopError ? err.code : status === 500 ? 'internal' : ((err as { type?: string }).type ?? 'bad-request'),
      message: status === 500 ? 'internal error' : (err as Error).message,
    };
    if (err instanceof ValidationError && err.details) body.details = err.details;
    if (status >= 500) log.error({ err, method: req.method, url: req.originalUrl }, 'request failed');
    else log.warn({ status, method: req.method, url: req.originalUrl, message: (err as Error).message }, 'request refused');
    if (res.headersSent) return;
    res.status(status).json(body);
  };
}
