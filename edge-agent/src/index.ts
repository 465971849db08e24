export { startAgent, type RunningAgent } from './app.js';
export { agentConfigSchema, AGENT_ENV_PREFIX, type AgentConfig } from './config/schema.js';
