import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Device credentials are 256-bit random secrets; the hub keeps only their SHA-256. A fast hash is
 * enough for secrets with that much entropy (as for API tokens) and keeps a fleet's reconnect cheap.
 */
export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
