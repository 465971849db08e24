import { readdirSync } from 'node:fs';
import {
  type DesiredState,
  errorMessage,
  IntegrityError,
  type Logger,
  type Manifest,
  type ModelType,
  type SignedManifest,
  SignatureError,
  type TrustStore,
} from '@edgeloop/shared';
import type { ContentStore } from '../model/content-store.js';
import type { InstalledStateFile } from '../model/installed-state.js';
import { Lifecycle } from '../model/lifecycle.js';
import { type LoadedModel, loadModel } from '../model/loaded-model.js';
import type { ServingSlot } from '../model/serving-slot.js';
import { DownloadError, downloadFile } from './downloader.js';
import { planModelUpdate } from './planner.js';

export interface UpdateReporter {
  /** Something about the model slot changed: publish the device state. */
  stateChanged(): void;
  event(type: 'deployed' | 'refused' | 'rolled-back', modelType: ModelType, version: number, data: Record<string, unknown>): void;
}

export interface UpdateRunnerDeps {
  modelType: ModelType;
  slot: ServingSlot;
  store: ContentStore;
  installed: InstalledStateFile;
  trust: TrustStore;
  hubHttpUrl: string;
  log: Logger;
  reporter: UpdateReporter;
  intraOpThreads: number;
  downloadTimeoutMs: number;
  retryDelayMs: number;
  maxAttempts?: number;
  now?: () => Date;
}

export interface UpdateProgress {
  version: number;
  lifecycle: Lifecycle;
}

/**
 * The one owner of a model slot's updates: takes a desired model, plans, executes one step,
 * re-plans. A newer offer aborts the one in flight. Failures never touch the serving model.
 */
export class UpdateRunner {
  private job: { abort: AbortController; done: Promise<void> } | null = null;
  private progressState: UpdateProgress | null = null;
  private refusal: { version: number; code: string; reason: string } | null = null;

  constructor(private readonly d: UpdateRunnerDeps) {}

  get progress(): UpdateProgress | null {
    return this.progressState;
  }

  /** The last offer this slot refused, until a later one succeeds. */
  get lastRefusal(): { version: number; code: string; reason: string } | null {
    return this.refusal;
  }

  /** Starts converging to `desired` (already signature-checked as a whole), aborting any older job. */
  offer(desired: DesiredState): Promise<void> {
    const model = desired.models[this.d.modelType];
    if (!model) return Promise.resolve();
    const previous = this.job;
    previous?.abort.abort();
    const abort = new AbortController();
    const done = (async () => {
      await previous?.done.catch(() => {});
      await this.converge(model.manifest, model.rollback, abort.signal);
    })().catch((err) => this.d.log.error({ err: errorMessage(err) }, 'update job crashed'));
    this.job = { abort, done };
    return done;
  }

  async idle(): Promise<void> {
    await this.job?.done;
  }

  private async converge(signed: SignedManifest, rollback: boolean, signal: AbortSignal): Promise<void> {
    const { log } = this.d;
    let manifest: Manifest;
    try {
      manifest = this.d.trust.verify(signed);
    } catch (err) {
      const reason = err instanceof SignatureError ? err.message : `manifest rejected: ${errorMessage(err)}`;
      this.refuse(signed.signed.version, err instanceof SignatureError ? err.reason : 'invalid', reason);
      return;
    }
    if (manifest.modelType !== this.d.modelType) {
      this.refuse(manifest.version, 'wrong-type', `manifest is for ${manifest.modelType}, this slot serves ${this.d.modelType}`);
      return;
    }
    const lifecycle = new Lifecycle(`v${manifest.version} offered`, Date.now, () => this.d.reporter.stateChanged());
    let candidate: LoadedModel | null = this.d.slot.spare?.version === manifest.version ? this.d.slot.spare : null;
    let attempts = 0;
    this.progressState = { version: manifest.version, lifecycle };
    try {
      for (;;) {
        if (signal.aborted) {
          log.info({ version: manifest.version }, 'update superseded by a newer offer');
          return;
        }
        const steps = planModelUpdate({
          activeVersion: this.d.slot.active?.version ?? null,
          desired: { manifest, rollback },
          installed: this.installedSet(),
          candidateReady: candidate !== null,
          refusedVersions: this.d.installed.slot(this.d.modelType).refusedVersions,
          now: this.now(),
        });
        const step = steps[0];
        if (!step) return;
        try {
          switch (step.kind) {
            case 'refuse':
              this.refuse(manifest.version, step.code, step.reason);
              return;
            case 'download':
              if (lifecycle.state === 'idle') lifecycle.transition('downloading', `fetching ${step.file.name}`);
              await downloadFile({ baseUrl: this.d.hubHttpUrl, file: step.file, store: this.d.store, log, signal, timeoutMs: this.d.downloadTimeoutMs });
              break;
            case 'load':
              candidate = await loadModel({ manifest, store: this.d.store, log, intraOpThreads: this.d.intraOpThreads, lifecycle });
              break;
            case 'activate':
              if (!candidate) throw new Error('no candidate to activate');
              await this.activate(candidate, signed, rollback);
              return;
          }
        } catch (err) {
          attempts++;
          const retryable = err instanceof DownloadError && err.retryable;
          log.warn({ version: manifest.version, step: step.kind, attempt: attempts, err: errorMessage(err) }, 'update step failed');
          if (err instanceof IntegrityError || attempts >= (this.d.maxAttempts ?? 5) || (!retryable && step.kind !== 'download')) {
            if (lifecycle.state !== 'failed') lifecycle.fail(errorMessage(err));
            this.refuse(manifest.version, err instanceof IntegrityError ? 'integrity' : 'failed', errorMessage(err));
            return;
          }
          await sleep(this.d.retryDelayMs * attempts, signal);
        }
      }
    } finally {
      if (this.progressState?.lifecycle === lifecycle && lifecycle.state !== 'failed') this.progressState = null;
    }
  }

  private async activate(candidate: LoadedModel, signed: SignedManifest, rollback: boolean): Promise<void> {
    const previous = this.d.slot.active;
    const previousSigned = this.d.installed.slot(this.d.modelType).active;
    await this.d.installed.updateSlot(this.d.modelType, (s) => ({
      active: signed,
      lastKnownGood: previousSigned ?? s.lastKnownGood,
      refusedVersions: rollback ? s.refusedVersions : s.refusedVersions.filter((v) => v < signed.signed.version),
    }));
    const { switchMicros } = await this.d.slot.activate(candidate, rollback ? 'signed rollback' : 'deployed');
    this.refusal = null;
    this.d.reporter.event('deployed', this.d.modelType, candidate.version, { previous: previous?.version ?? null, switchMicros, rollback });
    this.d.reporter.stateChanged();
  }

  private refuse(version: number, code: string, reason: string): void {
    this.d.log.warn({ version, code, reason }, 'offer refused');
    this.refusal = { version, code, reason };
    this.d.reporter.event('refused', this.d.modelType, version, { code, reason });
    this.d.reporter.stateChanged();
  }

  private installedSet(): Set<string> {
    try {
      return new Set(readdirSync(this.d.store.blobDir));
    } catch {
      return new Set();
    }
  }

  private now(): Date {
    return this.d.now?.() ?? new Date();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
