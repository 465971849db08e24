import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Paths whose values never reach a log line. */
export const REDACT_PATHS: string[] = [
  '*.*.password',
  '*.*.token',
  '*.*.secret',
  '*.*.privateKey',
  'headers.Authorization',
  'req.headers.Authorization',
  'password',
  '*.password',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'privateKey',
  '*.privateKey',
  'privateKeyPem',
  '*.privateKeyPem',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers.cookie',
  'cookie',
  '*.cookie',
];

export function createLogger(opts: { name: string; level?: LevelWithSilent | string; destination?: { write(s: string): void } }): Logger {
  const options = {
    name: opts.name,
    level: opts.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { app: opts.name },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
