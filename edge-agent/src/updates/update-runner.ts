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
  type Verifier,
} from '@edgeloop/shared';
import type { ContentStore } from '../model/content-store.js';
import type { InstalledStateFile } from '../model/installed-state.js';
import { Lifecycle } from '../model/lifecycle.js';
import type { LoadedModel } from '../model/loaded-model.js';
import type { SlotController } from '../model/slot-controller.js';
import type { ServingSlot } from '../model/serving-slot.js';
import { DownloadError, downloadFile, type HubCredentials } from './downloader.js';
import { planModelUpdate } from './planner.js';

export interface UpdateReporter {
  stateChanged(): void;
  event(type: 'refused', modelType: ModelType, version: number, data: Record<string, unknown>): void;
}

export interface DiskProbe {
  freeDiskBytes(dir: string): Promise<number>;
}

export interface UpdateRunnerDeps {
  modelType: ModelType;
  slot: ServingSlot;
  controller: SlotController;
  store: ContentStore;
  installed: InstalledStateFile;
  trust: Verifier;
  disk: DiskProbe;
  hubHttpUrl: string;
  /** The device's credentials for artifact downloads (read at each download: they may be resolved after start). */
  hubCredentials: () => HubCredentials;
  log: Logger;
  reporter: UpdateReporter;
  downloadTimeoutMs: number;
  retryDelayMs: number;
  /** Disk space to leave free after a download. */
  minFreeDiskBytes: number;
  maxAttempts?: number;
  failpoint?: (name: string) => void;
  now?: () => Date;
}

export type UpdateOutcome = { ok: true; version: number } | { ok: false; code: string; reason: string } | { ok: false; code: 'superseded'; reason: string };

export interface UpdateProgress {
  version: number;
  lifecycle: Lifecycle;
}

/**
 * The one owner of a model slot's updates: takes a signed manifest (from the hub's desired state
 * or a sideloaded bundle), plans, executes one step, re-plans. A newer offer aborts the one in
 * flight. Nothing here touches the serving model except through the SlotController.
 */
export class UpdateRunner {
  private job: { abort: AbortController; done: Promise<UpdateOutcome> } | null = null;
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

  /** Converges to the hub's desired state (already signature-checked as a whole). */
  offer(desired: DesiredState): Promise<UpdateOutcome> {
    const model = desired.models[this.d.modelType];
    if (!model) return Promise.resolve({ ok: false, code: 'no-model', reason: `desired state has no ${this.d.modelType} model` });
    return this.offerManifest(model.manifest, { rollback: model.rollback, source: 'hub' });
  }

  /** Starts converging to one signed manifest, aborting any older job. */
  offerManifest(signed: SignedManifest, opts: { rollback: boolean; source: string }): Promise<UpdateOutcome> {
    const previous = this.job;
    previous?.abort.abort();
    const abort = new AbortController();
    const done = (async () => {
      await previous?.done.catch(() => {});
      return this.converge(signed, opts, abort.signal);
    })().catch((err): UpdateOutcome => {
      this.d.log.error({ err: errorMessage(err) }, 'update job crashed');
      return { ok: false, code: 'crashed', reason: errorMessage(err) };
    });
    this.job = { abort, done };
    return done;
  }

  async idle(): Promise<void> {
    await this.job?.done;
  }

  private async converge(signed: SignedManifest, opts: { rollback: boolean; source: string }, signal: AbortSignal): Promise<UpdateOutcome> {
    const { log } = this.d;
    let manifest: Manifest;
    try {
      manifest = this.d.trust.verify(signed);
    } catch (err) {
      return this.refuse(signed.signed.version, err instanceof SignatureError ? err.reason : 'invalid', errorMessage(err));
    }
    if (manifest.modelType !== this.d.modelType) {
      return this.refuse(manifest.version, 'wrong-type', `manifest is for ${manifest.modelType}, this slot serves ${this.d.modelType}`);
    }
    const lifecycle = new Lifecycle(`v${manifest.version} offered (${opts.source})`, Date.now, () => this.d.reporter.stateChanged());
    let candidate: LoadedModel | null = this.d.slot.spare?.version === manifest.version ? this.d.slot.spare : null;
    let attempts = 0;
    let diskChecked = false;
    this.progressState = { version: manifest.version, lifecycle };
    try {
      for (;;) {
        if (signal.aborted) {
          log.info({ version: manifest.version }, 'update superseded by a newer offer');
          return { ok: false, code: 'superseded', reason: 'a newer offer arrived' };
        }
        const steps = planModelUpdate({
          activeVersion: this.d.slot.active?.version ?? null,
          desired: { manifest, rollback: opts.rollback },
          installed: this.installedSet(),
          candidateReady: candidate !== null,
          refusedVersions: this.d.installed.slot(this.d.modelType).refusedVersions,
          now: this.now(),
        });
        const step = steps[0];
        if (!step) {
          this.refusal = null;
          await this.reanchor(signed);
          return { ok: true, version: manifest.version };
        }
        try {
          switch (step.kind) {
            case 'refuse':
              return this.refuse(manifest.version, step.code, step.reason);
            case 'download': {
              if (!diskChecked) {
                const missing = steps.reduce((n, s) => n + (s.kind === 'download' ? s.file.size : 0), 0);
                const free = await this.d.disk.freeDiskBytes(this.d.store.blobDir);
                if (free - missing < this.d.minFreeDiskBytes) {
                  return this.refuse(manifest.version, 'insufficient-disk', `needs ${missing} bytes with ${this.d.minFreeDiskBytes} kept free; ${free} free`);
                }
                diskChecked = true;
              }
              if (lifecycle.state === 'idle') lifecycle.transition('downloading', `fetching ${step.file.name}`);
              const half = step.file.size / 2;
              await downloadFile({
                baseUrl: this.d.hubHttpUrl,
                credentials: this.d.hubCredentials(),
                file: step.file,
                store: this.d.store,
                log,
                signal,
                timeoutMs: this.d.downloadTimeoutMs,
                onChunk: (have) => {
                  if (have >= half) this.d.failpoint?.('download-midway');
                },
              });
              break;
            }
            case 'load':
              this.d.failpoint?.('before-verify');
              candidate = await this.d.controller.load(manifest, lifecycle);
              break;
            case 'activate':
              if (!candidate) throw new Error('no candidate to activate');
              await this.d.controller.activate(candidate, signed, opts);
              candidate = null;
              break;
          }
        } catch (err) {
          attempts++;
          const retryable = err instanceof DownloadError && err.retryable;
          log.warn({ version: manifest.version, step: step.kind, attempt: attempts, err: errorMessage(err) }, 'update step failed');
          if (err instanceof IntegrityError || !retryable || attempts >= (this.d.maxAttempts ?? 5)) {
            if (lifecycle.state !== 'failed' && lifecycle.state !== 'active') lifecycle.fail(errorMessage(err));
            return this.refuse(manifest.version, err instanceof IntegrityError ? 'integrity' : 'failed', errorMessage(err));
          }
          await sleep(this.d.retryDelayMs * attempts, signal);
        }
      }
    } finally {
      if (this.progressState?.lifecycle === lifecycle && lifecycle.state !== 'failed') this.progressState = null;
      this.d.reporter.stateChanged();
    }
  }

  /** The hub re-signed the running version (key rotation or revocation): keep the new signature. */
  private async reanchor(signed: SignedManifest): Promise<void> {
    const slot = this.d.installed.slot(this.d.modelType);
    if (slot.active?.signed.version === signed.signed.version && slot.active.signature !== signed.signature) {
      await this.d.installed.updateSlot(this.d.modelType, (s) => ({ ...s, active: signed }));
      this.d.log.info({ version: signed.signed.version, keyId: signed.keyId }, 'running version re-signed by the hub');
    }
  }

  private refuse(version: number, code: string, reason: string): UpdateOutcome {
    this.d.log.warn({ version, code, reason }, 'offer refused');
    this.refusal = { version, code, reason };
    this.d.reporter.event('refused', this.d.modelType, version, { code, reason });
    return { ok: false, code, reason };
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
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
