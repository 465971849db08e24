import { MODEL_TYPES, type Logger } from '@edgeloop/shared';
import type { ModelRegistry, VersionRecord } from '../registry/model-registry.js';
import { buildBootstrapModel } from './bootstrap-models.js';

/**
 * Produces model versions for the registry. For now: the bootstrap network of each type; the
 * nightly training saga plugs in here.
 */
export class TrainingService {
  constructor(
    private readonly registry: ModelRegistry,
    private readonly log: Logger,
  ) {}

  /** Registers and activates version 1 of every model type that has none yet. */
  async bootstrapMissing(): Promise<VersionRecord[]> {
    const made: VersionRecord[] = [];
    for (const modelType of MODEL_TYPES) {
      if (this.registry.latestVersionNumber(modelType) > 0) continue;
      const rec = await this.registry.registerNetwork(buildBootstrapModel(modelType), { label: `${modelType} bootstrap`, status: 'active' });
      this.log.info({ modelType, version: rec.version }, 'bootstrap model registered');
      made.push(rec);
    }
    return made;
  }
}
