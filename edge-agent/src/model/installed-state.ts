import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Logger, type ModelType, modelTypeSchema, signedManifestSchema, writeJsonAtomic } from '@edgeloop/shared';
import { z } from 'zod';

const slotStateSchema = z.object({
  active: signedManifestSchema.nullable(),
  lastKnownGood: signedManifestSchema.nullable(),
  refusedVersions: z.array(z.number().int().positive()).default([]),
});
const installedStateSchema = z.object({
  desiredRevision: z.number().int().nonnegative().default(0),
  models: z.partialRecord(modelTypeSchema, slotStateSchema).default({}),
});
export type SlotState = z.infer<typeof slotStateSchema>;
export type InstalledState = z.infer<typeof installedStateSchema>;

/**
 * Which version is active and which is last-known-good, persisted atomically (temp + fsync +
 * rename) so that a power cut leaves the previous or the new state, never a torn one.
 */
export class InstalledStateFile {
  private state: InstalledState;
  private queue: Promise<void> = Promise.resolve();
  private readonly path: string;

  constructor(dataDir: string, log: Logger) {
    this.path = join(dataDir, 'installed.json');
    this.state = { desiredRevision: 0, models: {} };
    if (existsSync(this.path)) {
      try {
        this.state = installedStateSchema.parse(JSON.parse(readFileSync(this.path, 'utf8')));
      } catch (err) {
        log.error({ err: (err as Error).message, path: this.path }, 'installed state unreadable; starting without an active model');
      }
    }
  }

  get(): InstalledState {
    return this.state;
  }

  slot(modelType: ModelType): SlotState {
    return this.state.models[modelType] ?? { active: null, lastKnownGood: null, refusedVersions: [] };
  }

  /** Updates run one after another, each on the result of the previous one: none is lost. */
  update(fn: (s: InstalledState) => InstalledState): Promise<void> {
    const run = this.queue.then(async () => {
      const next = installedStateSchema.parse(fn(structuredClone(this.state)));
      await writeJsonAtomic(this.path, next);
      this.state = next;
    });
    this.queue = run.catch(() => {});
    return run;
  }

  updateSlot(modelType: ModelType, fn: (s: SlotState) => SlotState): Promise<void> {
    const empty: SlotState = { active: null, lastKnownGood: null, refusedVersions: [] };
    return this.update((s) => ({ ...s, models: { ...s.models, [modelType]: fn(s.models[modelType] ?? empty) } }));
  }
}
