import { type Logger, UnavailableError } from '@edgeloop/shared';
import type { LoadedModel } from './loaded-model.js';

export interface Lease {
  model: LoadedModel;
  release(): void;
}

/**
 * Serves one model type. `acquire` takes a reference on the current model; `activate` switches
 * to a new, already warmed model with one assignment, then lets the old one drain and keeps it
 * as the warm spare (the spare before it is unloaded).
 */
export class ServingSlot {
  private current: LoadedModel | null = null;
  private spareModel: LoadedModel | null = null;

  constructor(private readonly log: Logger) {}

  get active(): LoadedModel | null {
    return this.current;
  }

  get spare(): LoadedModel | null {
    return this.spareModel;
  }

  acquire(): Lease {
    const model = this.current;
    if (!model) throw new UnavailableError('no model is loaded yet');
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

  /** Makes `next` (state ready) the serving model. Returns the switch time in microseconds. */
  async activate(next: LoadedModel, reason: string): Promise<{ switchMicros: number }> {
    next.lifecycle.transition('active', reason); // throws unless next is ready: the slot is untouched then
    const t0 = process.hrtime.bigint();
    const previous = this.current;
    this.current = next;
    const switchMicros = Number(process.hrtime.bigint() - t0) / 1000;
    if (previous) {
      previous.lifecycle.transition('draining', `replaced by v${next.version}`);
      await previous.drained();
      const oldSpare = this.spareModel === next ? null : this.spareModel;
      this.spareModel = previous;
      previous.lifecycle.transition('ready', 'kept as warm spare');
      if (oldSpare) await oldSpare.unload(`spare replaced by v${previous.version}`);
    } else if (this.spareModel === next) {
      this.spareModel = null;
    }
    this.log.info({ version: next.version, previous: previous?.version ?? null, switchMicros }, 'model switched');
    return { switchMicros };
  }

  async close(): Promise<void> {
    const models = [this.current, this.spareModel].filter((m): m is LoadedModel => m !== null);
    this.current = null;
    this.spareModel = null;
    for (const m of models) {
      if (m.lifecycle.state === 'active') m.lifecycle.transition('draining', 'shutting down');
      await m.unload('shutting down');
    }
  }
}
