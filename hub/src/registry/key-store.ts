import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { generateSigningKeyPair, keyIdOf, type SigningKey, writeFileAtomic } from '@edgeloop/shared';

export interface PublicKeyInfo {
  keyId: string;
  role: 'signing';
  publicKeyPem: string;
}

/** The hub's signing key, created on first start and kept in `<dataDir>/keys` with mode 0600. */
export class KeyStore {
  private constructor(
    readonly signing: SigningKey,
    private readonly dir: string,
  ) {}

  static async open(dataDir: string): Promise<KeyStore> {
    const dir = join(dataDir, 'keys');
    const privPath = join(dir, 'signing.key.pem');
    const pubPath = join(dir, 'signing.pub.pem');
    if (!existsSync(privPath)) {
      const pair = generateSigningKeyPair();
      await writeFileAtomic(pubPath, pair.publicKeyPem);
      await writeFileAtomic(privPath, pair.privateKeyPem);
      const { chmod } = await import('node:fs/promises');
      await chmod(privPath, 0o600);
    }
    const privateKey = createPrivateKey(readFileSync(privPath, 'utf8'));
    const publicKeyPem = readFileSync(pubPath, 'utf8');
    return new KeyStore({ keyId: keyIdOf(publicKeyPem), privateKey, publicKeyPem }, dir);
  }

  publicKeys(): PublicKeyInfo[] {
    return [{ keyId: this.signing.keyId, role: 'signing', publicKeyPem: this.signing.publicKeyPem }];
  }

  get directory(): string {
    return this.dir;
  }
}
