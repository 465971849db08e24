import { createHash, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from 'node:crypto';
import { z } from 'zod';
import { SignatureError } from '../errors.js';
import { canonicalBytes } from './canonical-json.js';

/** A detached Ed25519 signature over the RFC 8785 canonical form of `signed`. */
export interface SignedEnvelope<T> {
  signed: T;
  keyId: string;
  signature: string;
}

export const signedEnvelopeSchema = <T extends z.ZodType>(inner: T) =>
  z.strictObject({
    signed: inner,
    keyId: z.string().regex(/^[0-9a-f]{16}$/, 'keyId must be 16 hex characters'),
    signature: z.string().min(1).max(200),
  });

export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
  publicKeyPem: string;
}

export interface KeyPairPem {
  keyId: string;
  privateKeyPem: string;
  publicKeyPem: string;
}

/** Key id: the first 16 hex characters of the SHA-256 of the key's DER SubjectPublicKeyInfo. */
export function keyIdOf(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  const der = key.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('hex').slice(0, 16);
}

export function generateSigningKeyPair(): KeyPairPem {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    keyId: keyIdOf(publicKey),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

export function signBytes(bytes: Buffer, privateKey: KeyObject): string {
  return sign(null, bytes, privateKey).toString('base64');
}

export function signEnvelope<T>(value: T, key: SigningKey): SignedEnvelope<T> {
  return { signed: value, keyId: key.keyId, signature: signBytes(canonicalBytes(value), key.privateKey) };
}

/** The public keys a verifier trusts, by key id. Revoked ids are refused even if present. */
export class TrustStore {
  private readonly keys = new Map<string, KeyObject>();
  private readonly revoked = new Set<string>();

  constructor(publicKeysPem: Iterable<string> = []) {
    for (const pem of publicKeysPem) this.add(pem);
  }

  add(publicKeyPem: string): string {
    const key = createPublicKey(publicKeyPem);
    if (key.asymmetricKeyType !== 'ed25519') throw new SignatureError('bad-certificate', 'only Ed25519 keys are trusted');
    const id = keyIdOf(key);
    this.keys.set(id, key);
    return id;
  }

  revoke(keyId: string): void {
    this.revoked.add(keyId);
  }

  has(keyId: string): boolean {
    return this.keys.has(keyId) && !this.revoked.has(keyId);
  }

  /** Throws SignatureError unless `envelope` carries a valid signature by a trusted, unrevoked key. */
  verify<T>(envelope: SignedEnvelope<T>): T {
    if (this.revoked.has(envelope.keyId)) {
      throw new SignatureError('revoked-key', `key ${envelope.keyId} is revoked`, { keyId: envelope.keyId });
    }
    const key = this.keys.get(envelope.keyId);
    if (!key) throw new SignatureError('unknown-key', `key ${envelope.keyId} is not trusted`, { keyId: envelope.keyId });
    const sig = Buffer.from(envelope.signature, 'base64');
    if (sig.length !== 64 || !verify(null, canonicalBytes(envelope.signed), key, sig)) {
      throw new SignatureError('bad-signature', `signature by ${envelope.keyId} does not verify`, { keyId: envelope.keyId });
    }
    return envelope.signed;
  }
}

export function sha256Hex(data: Buffer | Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
