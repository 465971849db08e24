import { errorMessage, type Logger, type Manifest, type ModelType, type SignedManifest, type Verifier } from '@edgeloop/shared';
import type { ContentStore } from './content-store.js';
import type { InstalledStateFile } from './installed-state.js';
import type { Lifecycle } from './lifecycle.js';
import { type LoadedModel, loadModel } from './loaded-model.js';
import type { ServingSlot } from './serving-slot.js';
import { type StatsSource, type WatchThresholds, type WatchVerdict, WatchWindow } from './watch-window.js';

export interface MemoryProbe {
  availableMemoryBytes(): Promise<number>;
}

export interface SlotEvents {
  stateChanged(): void;
  event(type: 'deployed' | 'rolled-back', modelType: ModelType, version: number, data: Record<string, unknown>): void;
}

export interface SlotControllerDeps {
  modelType: ModelType;
  slot: ServingSlot;
  store: ContentStore;
  installed: InstalledStateFile;
  trust: Verifier;
  stats: StatsSource;
  memory: MemoryProbe;
  log: Logger;
  events: SlotEvents;
  intraOpThreads: number;
  /** Memory a loaded model needs, as a multiple of its files' size. */
  memoryFactor: number;
  /** Memory to leave free for the rest of the device. */
  minFreeMemoryBytes: number;
  watch: WatchThresholds & { checkIntervalMs: number };
  failpoint: (name: string) => void;
}

/**
 * Every change to a model slot goes through here, one at a time: load a candidate (beside the
 * serving model when memory allows, otherwise after freeing the spare or, last, the serving model),
 * switch atomically and persist which version is active, watch it, and roll back on a breach.
 */
export class SlotController {
  private lock: Promise<unknown> = Promise.resolve();
  readonly watch: WatchWindow;

  constructor(private readonly d: SlotControllerDeps) {
    this.watch = new WatchWindow({
      modelType: d.modelType,
      stats: d.stats,
      thresholds: d.watch,
      checkIntervalMs: d.watch.checkIntervalMs,
      log: d.log,
      onBreach: (version, verdict) => {
        this.rollbackAfterBreach(version, verdict).catch((err) => d.log.error({ err: errorMessage(err) }, 'automatic rollback failed'));
      },
    });
  }

  /** Runs `fn` with exclusive ownership of the slot. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => {});
    return run;
  }

  /**
   * Loads and warms `manifest` (lifecycle → ready), making room first when memory is short. Only
   * making room holds the slot: the load itself does not, so a rollback is never kept waiting.
   */
  async load(manifest: Manifest, lifecycle: Lifecycle): Promise<LoadedModel> {
    const { slot, log } = this.d;
    const gap = await this.exclusive(async () => {
      const needed = manifest.files.reduce((n, f) => n + f.size, 0) * this.d.memoryFactor;
      let room = (await this.d.memory.availableMemoryBytes()) - this.d.minFreeMemoryBytes;
      if (room < needed && slot.spare) {
        await slot.dropSpare(`memory: ${mb(room)} free above the floor, v${manifest.version} needs ${mb(needed)}`);
        room = (await this.d.memory.availableMemoryBytes()) - this.d.minFreeMemoryBytes;
      }
      if (room < needed && slot.active) {
        log.warn({ version: manifest.version, roomBytes: room, neededBytes: needed }, 'not enough memory for two models: unloading the serving one first, requests wait');
        await slot.unloadActive(`memory: making room for v${manifest.version}`);
        return true;
      }
      return false;
    });
    try {
      return await loadModel({ manifest, store: this.d.store, log, intraOpThreads: this.d.intraOpThreads, lifecycle });
    } catch (err) {
      if (gap) await this.exclusive(() => this.restoreInstalled('reload after the successor failed to load'));
      throw err;
    }
  }

  /** Switches `candidate` in, persists it as active (the previous one as last-known-good) and starts watching it. */
  activate(candidate: LoadedModel, signed: SignedManifest, opts: { rollback: boolean; source: string }): Promise<void> {
    return this.exclusive(async () => {
      const { slot, installed, modelType } = this.d;
      const previous = slot.active;
      const previousFigures = previous ? this.d.stats.since(modelType, previous.version, Date.now() - this.d.watch.windowMs) : null;
      const previousSigned = installed.slot(modelType).active;
      await installed.updateSlot(modelType, (s) => ({
        active: signed,
        lastKnownGood: opts.rollback ? null : (previousSigned ?? s.lastKnownGood),
        refusedVersions: opts.rollback ? s.refusedVersions : s.refusedVersions.filter((v) => v < signed.signed.version),
      }));
      this.d.failpoint('after-install');
      // A signed rollback goes back for good: the version rolled back from is not kept as spare.
      const keepPrevious = !opts.rollback && (await this.d.memory.availableMemoryBytes()) >= this.d.minFreeMemoryBytes;
      if (!keepPrevious && previous && !opts.rollback) this.d.log.warn({ version: previous.version }, 'memory below the floor: previous version not kept as warm spare');
      const switched = slot.activate(candidate, opts.rollback ? 'signed rollback' : `deployed (${opts.source})`, { keepPrevious });
      this.d.failpoint('after-switch');
      const { switchMicros } = await switched;
      this.watch.start(candidate.version, previous?.version ?? null, previousFigures);
      this.d.events.event('deployed', modelType, candidate.version, { previous: previous?.version ?? null, switchMicros, rollback: opts.rollback, source: opts.source, spare: slot.spare?.version ?? null });
      this.d.events.stateChanged();
    });
  }

  /** The watch window saw `version` misbehave: back to the warm spare, refuse `version` from now on. */
  rollbackAfterBreach(version: number, verdict: Extract<WatchVerdict, { kind: 'breach' }>): Promise<void> {
    return this.exclusive(async () => {
      const { slot, installed, modelType, log } = this.d;
      const t0 = performance.now();
      const spare = slot.spare;
      const lkg = installed.slot(modelType).lastKnownGood;
      if (slot.active?.version !== version) return; // something else replaced it meanwhile
      if (!spare || !lkg || lkg.signed.version !== spare.version) {
        log.error({ version, reason: verdict.reason }, 'watch window breached but no warm spare to roll back to');
        return;
      }
      await installed.updateSlot(modelType, (s) => ({
        active: lkg,
        lastKnownGood: null,
        refusedVersions: [...new Set([...s.refusedVersions, version])],
      }));
      await slot.activate(spare, `automatic rollback from v${version}: ${verdict.reason}`, { keepPrevious: false });
      const rollbackMs = performance.now() - t0;
      log.warn({ from: version, to: spare.version, reason: verdict.reason, rollbackMs }, 'rolled back to warm spare');
      this.d.events.event('rolled-back', modelType, version, { to: spare.version, reason: verdict.reason, candidate: verdict.candidate, previous: verdict.previous, rollbackMs });
      this.d.events.stateChanged();
    });
  }

  /** Loads whatever installed state says is active (used when a load after an unload-first swap failed). */
  private async restoreInstalled(reason: string): Promise<void> {
    const signed = this.d.installed.slot(this.d.modelType).active;
    if (!signed) return;
    const manifest = this.d.trust.verify(signed);
    const model = await loadModel({ manifest, store: this.d.store, log: this.d.log, intraOpThreads: this.d.intraOpThreads });
    await this.d.slot.activate(model, reason);
  }

  stop(): void {
    this.watch.stop();
  }
}

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MB`;
}
