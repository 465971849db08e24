import { createLogger, loadConfig } from '@edgeloop/shared';
import { startAgent } from './app.js';
import { AGENT_ENV_PREFIX, agentConfigSchema } from './config/schema.js';

const config = loadConfig(agentConfigSchema, { envPrefix: AGENT_ENV_PREFIX, file: process.env.EDGELOOP_AGENT_CONFIG });
const log = createLogger({ name: 'agent', level: config.logLevel }).child({ deviceId: config.deviceId });
const agent = await startAgent(config, log);
process.stdout.write(`${JSON.stringify({ event: 'agent-ready', deviceId: config.deviceId, apiUrl: agent.apiUrl })}\n`);

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    stopping = true;
    agent.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'agent stop failed');
        process.exit(1);
      },
    );
  });
}
