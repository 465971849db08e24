export { startHub, type RunningHub } from './app.js';
export { hubConfigSchema, HUB_ENV_PREFIX, type HubConfig } from './config/schema.js';
