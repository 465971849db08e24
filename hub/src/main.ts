import { createLogger, loadConfig } from '@edgeloop/shared';
import { startHub } from './app.js';
import { HUB_ENV_PREFIX, hubConfigSchema } from './config/schema.js';

const config = loadConfig(hubConfigSchema, { envPrefix: HUB_ENV_PREFIX, file: process.env.EDGELOOP_HUB_CONFIG });
const log = createLogger({ name: 'hub', level: config.logLevel });
const hub = await startHub(config, log);
// One machine-readable line for supervisors and tests.
process.stdout.write(`${JSON.stringify({ event: 'hub-ready', httpUrl: hub.httpUrl, mqttUrl: hub.mqttUrl, adminTokenFile: hub.adminTokenFile })}\n`);

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    hub.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'hub stop failed');
        process.exit(1);
      },
    );
  });
}
