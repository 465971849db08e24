import type { SignedKeySet } from '../contracts/keys.js';
import { SignatureError } from '../errors.js';
import { type SignedEnvelope, TrustStore } from './signing.js';

/** Anything that checks a signed envelope and returns its content. */
export interface Verifier {
  verify<T>(envelope: SignedEnvelope<T>): T;
}

export type KeySetResult = { applied: true; version: number } | { applied: false; version: number; reason: string };

/**
 * A device's trust, TUF-like: root keys (baked into the device image) certify signing keys through
 * a root-signed key set; only certified, unexpired, unrevoked signing keys verify manifests and
 * desired states. `directKeysPem` are trusted signing keys given by configuration (development).
 */
export class KeyRing implements Verifier {
  private readonly root: TrustStore;
  private signing: TrustStore;
  private readonly direct: string[];
  private setVersion = 0;

  constructor(opts: { rootKeysPem: string[]; directKeysPem?: string[] }) {
    this.root = new TrustStore(opts.rootKeysPem);
    this.direct = opts.directKeysPem ?? [];
    this.signing = new TrustStore(this.direct);
  }

  get keySetVersion(): number {
    return this.setVersion;
  }

  verify<T>(envelope: SignedEnvelope<T>): T {
    return this.signing.verify(envelope);
  }

  /** Applies a root-signed key set; refuses forged, older or equal versions. Never throws. */
  applyKeySet(signed: SignedKeySet, now = new Date()): KeySetResult {
    let set: SignedKeySet['signed'];
    try {
      set = this.root.verify(signed);
    } catch (err) {
      return { applied: false, version: this.setVersion, reason: `key set not signed by a root key: ${(err as Error).message}` };
    }
    if (set.version <= this.setVersion) {
      return { applied: false, version: this.setVersion, reason: `key set v${set.version} is not newer than v${this.setVersion}` };
    }
    const next = new TrustStore(this.direct);
    for (const c of set.certificates) {
      try {
        const cert = this.root.verify(c);
        if (Date.parse(cert.expiresAt) <= now.getTime()) continue;
        if (next.add(cert.publicKeyPem) !== cert.keyId) throw new SignatureError('bad-certificate', `certificate key id ${cert.keyId} does not match its key`);
      } catch (err) {
        return { applied: false, version: this.setVersion, reason: `bad certificate in key set v${set.version}: ${(err as Error).message}` };
      }
    }
    for (const id of set.revoked) next.revoke(id);
    this.signing = next;
    this.setVersion = set.version;
    return { applied: true, version: set.version };
  }
}
