import { type Logger, MODEL_TYPE_OF_ROLE, type ModelType, ROLE_OF_MODEL_TYPE } from '@edgeloop/shared';
import type { FleetService } from '../fleet/fleet-service.js';
import type { ModelRegistry } from '../registry/model-registry.js';

/**
 * Decides which version each device should run. Today: every device runs its type's active
 * version. Canary groups and automatic promote / abort build on `deploy`.
 */
export class RolloutService {
  constructor(
    private readonly fleet: FleetService,
    private readonly registry: ModelRegistry,
    private readonly log: Logger,
  ) {}

  /** Gives a device the active version of its role's model type, unless it already has it. */
  async assignDefault(deviceId: string): Promise<void> {
    const device = this.fleet.get(deviceId);
    const modelType = MODEL_TYPE_OF_ROLE[device.role];
    const active = this.registry.active(modelType);
    if (!active || device.desired[modelType]?.version === active.version) return;
    await this.fleet.setDesiredModel(deviceId, modelType, active.signed);
  }

  /**
   * Sets `version` as the desired model for the given devices (all of the role when omitted);
   * `rollback` makes it a signed rollback directive that may go below what a device runs.
   */
  async deploy(modelType: ModelType, version: number, deviceIds?: string[], rollback = false): Promise<string[]> {
    const rec = this.registry.get(modelType, version);
    const targets = deviceIds ?? this.fleet.idsByRole(ROLE_OF_MODEL_TYPE[modelType]);
    for (const id of targets) await this.fleet.setDesiredModel(id, modelType, rec.signed, rollback);
    this.log.info({ modelType, version, devices: targets.length, rollback }, 'deployment set');
    return targets;
  }
}
