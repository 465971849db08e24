import { type Logger, UnavailableError } from '@edgeloop/shared';
import type { LoadedModel } from './loaded-model.js';

export interface Lease {
  model: LoadedModel;
  release(): void;
}

export interface ActivateOptions {
  /** Keep the replaced model loaded as the warm spare (default true); otherwise unload it once drained. */
  keepPrevious?: boolean;
}

/**
 * Serves one model type. `acquire` takes a reference on the current model; `activate` switches
 * to a new, already warmed model with one assignment, lets the old one drain (its requests finish
 * on it), then keeps it as the warm spare or unloads it. While no model is loaded (first boot, or
 * the short gap of an unload-first swap) requests wait in a queue instead of failing.
 */
export class ServingSlot {
  private current: LoadedModel | null = null;
  private spareModel: LoadedModel | null = null;
  private waiters: { resolve: () => void; timer: NodeJS.Timeout }[] = [];
  private closed = false;

  constructor(
    private readonly log: Logger,
    private readonly gapWaitMs = 5_000,
  ) {}

  get active(): LoadedModel | null {
    return this.current;
  }

  get spare(): LoadedModel | null {
    return this.spareModel;
  }

  /** Takes a reference on the serving model; waits up to `gapWaitMs` while none is loaded. */
  async acquire(): Promise<Lease> {
    if (this.closed) throw new UnavailableError('shutting down');
    if (!this.current) await this.waitForModel();
    const model = this.current;
    if (!model) throw new UnavailableError('no model is loaded');
    return this.lease(model);
  }

  /**
   * A reference on another loaded model than `failed`, for retrying a request it failed: the warm
   * spare, or — when a rollback just promoted the spare — the model now serving.
   */
  acquireFallback(failed: LoadedModel): Lease | null {
    const other = [this.spareModel, this.current].find((m) => m !== null && m !== failed);
    return other ? this.lease(other) : null;
  }

  private lease(model: LoadedModel): Lease {
    model.enter();
    let released = false;
    return {
      model,
      release: () => {
        if (released) return;
        released = true;
        model.leave();
      },
    };
  }

  private waitForModel(): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        resolve: () => {
          clearTimeout(entry.timer);
          resolve();
        },
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== entry);
          resolve();
        }, this.gapWaitMs),
      };
      this.waiters.push(entry);
    });
  }

  /** Makes `next` (state ready) the serving model. Returns the switch time in microseconds. */
  async activate(next: LoadedModel, reason: string, opts: ActivateOptions = {}): Promise<{ switchMicros: number }> {
    next.lifecycle.transition('active', reason); // throws unless next is ready: the slot is untouched then
    const t0 = process.hrtime.bigint();
    const previous = this.current;
    this.current = next;
    const switchMicros = Number(process.hrtime.bigint() - t0) / 1000;
    for (const w of this.waiters.splice(0)) w.resolve();
    if (this.spareModel === next) this.spareModel = null;
    if (previous) {
      previous.lifecycle.transition('draining', `replaced by v${next.version}`);
      await previous.drained();
      if (opts.keepPrevious ?? true) {
        const oldSpare = this.spareModel;
        this.spareModel = previous;
        previous.lifecycle.transition('ready', 'kept as warm spare');
        if (oldSpare) await oldSpare.unload(`spare replaced by v${previous.version}`);
      } else {
        await previous.unload(`replaced by v${next.version}`);
      }
    }
    this.log.info({ version: next.version, previous: previous?.version ?? null, spare: this.spareModel?.version ?? null, switchMicros }, 'model switched');
    return { switchMicros };
  }

  /** Unloads the warm spare (to free memory before loading a new model). */
  async dropSpare(reason: string): Promise<void> {
    const spare = this.spareModel;
    if (!spare) return;
    this.spareModel = null;
    await spare.unload(reason);
    this.log.info({ version: spare.version, reason }, 'warm spare unloaded');
  }

  /**
   * Unloads the serving model so that a new one can be loaded where memory does not allow two.
   * Requests arriving meanwhile wait (see `acquire`) until the next `activate`.
   */
  async unloadActive(reason: string): Promise<void> {
    const model = this.current;
    if (!model) return;
    this.current = null;
    model.lifecycle.transition('draining', reason);
    await model.unload(reason);
    this.log.warn({ version: model.version, reason }, 'serving model unloaded before loading its successor');
  }

  async close(): Promise<void> {
    const models = [this.current, this.spareModel].filter((m): m is LoadedModel => m !== null);
    this.closed = true;
    this.current = null;
    this.spareModel = null;
    for (const w of this.waiters.splice(0)) w.resolve();
    for (const m of models) {
      if (m.lifecycle.state === 'active') m.lifecycle.transition('draining', 'shutting down');
      await m.unload('shutting down');
    }
  }
}
