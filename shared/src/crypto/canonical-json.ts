import canonicalizeImpl from 'canonicalize';

/**
 * RFC 8785 (JCS) canonical JSON: sorted keys, ECMAScript number formatting, no whitespace.
 * The bytes every signature in Edgeloop covers.
 */
export function canonicalize(value: unknown): string {
  const out = (canonicalizeImpl as unknown as (v: unknown) => string | undefined)(value);
  if (out === undefined) throw new TypeError('value cannot be canonicalized');
  return out;
}

export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}
