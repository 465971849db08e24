import type { DeviceState, ModelType } from '@edgeloop/shared';
import type { AgentConfig } from './config/schema.js';
import type { InstalledStateFile } from './model/installed-state.js';
import type { ServingSlot } from './model/serving-slot.js';
import type { UpdateRunner } from './updates/update-runner.js';

export const AGENT_VERSION = '0.2.0';

/** What the device reports on its retained state topic and at `/v1/status`. */
export function buildDeviceState(
  config: AgentConfig,
  modelType: ModelType,
  parts: { slot: ServingSlot; runner: UpdateRunner; installed: InstalledStateFile },
): Extract<DeviceState, { status: 'online' }> {
  const { slot, runner, installed } = parts;
  const active = slot.active;
  const progress = runner.progress;
  const busy = progress && progress.lifecycle.state !== 'failed' ? progress : null;
  const refusal = runner.lastRefusal;
  const reason = busy
    ? `v${busy.version}: ${busy.lifecycle.reason}`
    : refusal
      ? `refused v${refusal.version}: ${refusal.reason}`
      : (active?.lifecycle.reason ?? 'no model installed');
  return {
    status: 'online',
    deviceId: config.deviceId,
    role: config.role,
    branch: config.branch,
    at: new Date().toISOString(),
    agentVersion: AGENT_VERSION,
    desiredRevision: installed.get().desiredRevision,
    models: {
      [modelType]: {
        version: active?.version ?? null,
        state: busy ? busy.lifecycle.state : (active?.lifecycle.state ?? 'idle'),
        reason: reason.slice(0, 500),
        lastKnownGood: installed.slot(modelType).lastKnownGood?.signed.version ?? null,
        refusedVersions: installed.slot(modelType).refusedVersions.slice(-100),
      },
    },
  };
}
