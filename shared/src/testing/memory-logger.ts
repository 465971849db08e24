import { createLogger, type Logger } from '../log/logger.js';

export interface MemoryLogger {
  log: Logger;
  /** Every line logged so far, parsed. */
  lines(): Record<string, unknown>[];
  /** Lines whose `msg` equals `msg`. */
  find(msg: string): Record<string, unknown>[];
}

/** A real pino logger (same redaction as production) whose output is kept in memory for assertions. */
export function memoryLogger(name = 'test'): MemoryLogger {
  const chunks: string[] = [];
  const log = createLogger({ name, level: 'debug', destination: { write: (s: string) => chunks.push(s) } });
  const lines = () =>
    chunks
      .flatMap((c) => c.split('\n'))
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { log, lines, find: (msg) => lines().filter((l) => l.msg === msg) };
}
