import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '@edgeloop/shared';
import { startHub, type RunningHub } from '../../src/app.js';
import { hubConfigSchema } from '../../src/config/schema.js';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestHub extends RunningHub {
  dataDir: string;
  admin(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/** A real hub in-process: temp SQLite, aedes on 127.0.0.1:0, HTTP on 127.0.0.1:0. */
export async function startTestHub(opts: { log?: Logger; dataDir?: string; training?: Record<string, unknown> } = {}): Promise<TestHub> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'edgeloop-hub-'));
  const config = hubConfigSchema.parse({
    dataDir,
    logLevel: 'silent',
    http: { host: '127.0.0.1', port: 0, publicUrl: '' },
    mqtt: { host: '127.0.0.1', port: 0 },
    admin: { token: TEST_ADMIN_TOKEN },
    // Training runs only when a test asks for one, never because the wall clock passed 03:00.
    training: { checkIntervalMs: 0, ...opts.training },
  });
  const hub = await startHub(config, opts.log ?? createLogger({ name: 'hub', level: 'silent' }));
  return {
    ...hub,
    dataDir,
    admin: (path, init = {}) =>
      fetch(`${hub.httpUrl}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
      }),
    async close() {
      await hub.stop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export { memoryLogger } from '@edgeloop/shared/testing';
export { waitFor } from '@edgeloop/shared';
