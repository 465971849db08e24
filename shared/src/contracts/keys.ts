import { z } from 'zod';
import { signedEnvelopeSchema } from '../crypto/signing.js';
import { isoDateSchema } from './manifest.js';

const keyIdSchema = z.string().regex(/^[0-9a-f]{16}$/);

/** The root key's statement that a signing key may sign manifests and desired states. */
export const keyCertificateSchema = z.strictObject({
  keyId: keyIdSchema,
  publicKeyPem: z.string().min(1).max(1000),
  role: z.literal('signing'),
  issuedAt: isoDateSchema,
  expiresAt: isoDateSchema,
});
export type KeyCertificate = z.infer<typeof keyCertificateSchema>;
export const signedKeyCertificateSchema = signedEnvelopeSchema(keyCertificateSchema);
export type SignedKeyCertificate = z.infer<typeof signedKeyCertificateSchema>;

/**
 * The set of signing keys a device should trust, signed by root: certified keys and revoked key
 * ids. `version` only goes up, so an old set (with fewer revocations) cannot be replayed.
 */
export const keySetSchema = z.strictObject({
  version: z.number().int().positive(),
  issuedAt: isoDateSchema,
  certificates: z.array(signedKeyCertificateSchema).max(64),
  revoked: z.array(keyIdSchema).max(1000),
});
export type KeySet = z.infer<typeof keySetSchema>;
export const signedKeySetSchema = signedEnvelopeSchema(keySetSchema);
export type SignedKeySet = z.infer<typeof signedKeySetSchema>;
