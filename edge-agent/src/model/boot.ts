import { errorMessage, type Logger, type Manifest, manifestSchema, type ModelType, type SignedManifest, SignatureError, type Verifier } from '@edgeloop/shared';
import type { ContentStore } from './content-store.js';
import type { InstalledStateFile } from './installed-state.js';
import { loadModel } from './loaded-model.js';
import type { ServingSlot } from './serving-slot.js';

/**
 * Installed manifests were fully verified when installed. At boot a signature by a key that has
 * since been revoked or rotated out still boots (the files' hashes are checked again), so a device
 * that was offline during a revocation keeps serving until the hub's re-signed state arrives; a
 * signature that does not verify at all never boots.
 */
function verifyInstalled(trust: Verifier, signed: SignedManifest, log: Logger): Manifest {
  try {
    return trust.verify(signed);
  } catch (err) {
    if (err instanceof SignatureError && (err.reason === 'revoked-key' || err.reason === 'unknown-key')) {
      log.warn({ version: signed.signed.version, keyId: signed.keyId, reason: err.reason }, 'installed manifest signed by a key no longer trusted; booting it until the hub re-signs');
      return manifestSchema.parse(signed.signed);
    }
    throw err;
  }
}

export interface BootResult {
  version: number | null;
  fellBack: boolean;
  reason: string;
}

/**
 * Brings the slot up from what is installed: the active version, or the last-known-good one if
 * the active one no longer verifies or loads. Signatures are checked again before loading.
 */
export async function bootSlot(opts: {
  modelType: ModelType;
  slot: ServingSlot;
  store: ContentStore;
  installed: InstalledStateFile;
  trust: Verifier;
  log: Logger;
  intraOpThreads: number;
}): Promise<BootResult> {
  const { log } = opts;
  const state = opts.installed.slot(opts.modelType);
  const tryLoad = async (signed: SignedManifest, why: string) => {
    const manifest = verifyInstalled(opts.trust, signed, log);
    const model = await loadModel({ manifest, store: opts.store, log, intraOpThreads: opts.intraOpThreads });
    await opts.slot.activate(model, why);
    return manifest.version;
  };
  if (!state.active) return { version: null, fellBack: false, reason: 'nothing installed yet' };
  try {
    return { version: await tryLoad(state.active, 'boot'), fellBack: false, reason: 'booted active version' };
  } catch (err) {
    const reason = `active v${state.active.signed.version} failed to load: ${errorMessage(err)}`;
    log.error({ reason }, 'boot of active model failed');
    if (!state.lastKnownGood) return { version: null, fellBack: false, reason };
    try {
      const version = await tryLoad(state.lastKnownGood, 'boot fallback to last-known-good');
      await opts.installed.updateSlot(opts.modelType, (s) => ({
        active: s.lastKnownGood,
        lastKnownGood: null,
        refusedVersions: [...new Set([...s.refusedVersions, state.active?.signed.version ?? 0])].filter((v) => v > 0),
      }));
      return { version, fellBack: true, reason };
    } catch (err2) {
      return { version: null, fellBack: true, reason: `${reason}; last-known-good failed too: ${errorMessage(err2)}` };
    }
  }
}
