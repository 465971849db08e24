import type { DesiredState, Manifest, ManifestFile } from '@edgeloop/shared';

export type Step =
  | { kind: 'refuse'; reason: string; code: RefusalCode }
  | { kind: 'download'; file: ManifestFile }
  | { kind: 'load' }
  | { kind: 'activate' };

export type RefusalCode = 'expired' | 'downgrade' | 'refused-version' | 'stale-revision' | 'wrong-device';

export interface PlanInput {
  /** Version serving now, if any. */
  activeVersion: number | null;
  desired: { manifest: Manifest; rollback: boolean } | null;
  /** sha256 of files already in the content store. */
  installed: ReadonlySet<string>;
  /** True when the desired version is loaded and warmed, waiting to be switched in. */
  candidateReady: boolean;
  /** Versions this device rolled back from; refused until the hub offers a newer one or a signed rollback. */
  refusedVersions: readonly number[];
  now: Date;
}

/**
 * Pure: from what runs and what the hub wants, the steps still to take. The runner executes the
 * first step and plans again, so a crash or a newer offer at any point just re-plans.
 */
export function planModelUpdate(input: PlanInput): Step[] {
  const { desired, activeVersion } = input;
  if (!desired) return [];
  const m = desired.manifest;
  if (activeVersion === m.version) return [];
  if (Date.parse(m.expiresAt) <= input.now.getTime()) {
    return [{ kind: 'refuse', code: 'expired', reason: `manifest for v${m.version} expired at ${m.expiresAt}` }];
  }
  if (!desired.rollback) {
    if (activeVersion !== null && m.version < activeVersion) {
      return [{ kind: 'refuse', code: 'downgrade', reason: `v${m.version} is older than running v${activeVersion} and no signed rollback allows it` }];
    }
    if (input.refusedVersions.includes(m.version)) {
      return [{ kind: 'refuse', code: 'refused-version', reason: `v${m.version} was rolled back on this device` }];
    }
  }
  const steps: Step[] = m.files.filter((f) => !input.installed.has(f.sha256)).map((file) => ({ kind: 'download', file }) as const);
  if (!input.candidateReady) steps.push({ kind: 'load' });
  steps.push({ kind: 'activate' });
  return steps;
}

/** Checks a verified desired state as a whole before any of its models is planned. */
export function checkDesiredState(
  desired: DesiredState,
  ctx: { deviceId: string; lastRevision: number; now: Date },
): { ok: true } | { ok: false; code: RefusalCode; reason: string } {
  if (desired.deviceId !== ctx.deviceId) return { ok: false, code: 'wrong-device', reason: `desired state is for ${desired.deviceId}` };
  if (Date.parse(desired.expiresAt) <= ctx.now.getTime()) return { ok: false, code: 'expired', reason: `desired state expired at ${desired.expiresAt}` };
  if (desired.revision < ctx.lastRevision) {
    return { ok: false, code: 'stale-revision', reason: `revision ${desired.revision} is older than ${ctx.lastRevision}` };
  }
  return { ok: true };
}
