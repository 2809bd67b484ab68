// Short stable content hashes for kernel object names and rule comments.
import { hash } from 'node:crypto';

/** First `length` hex digits of SHA-256: 16 digits (64 bits) keep collisions out of reach. */
export function shortHash(text: string, length = 16): string {
  // One-shot hash: a render hashes every rule, and a Hash object per call costs more than the digest.
  return hash('sha256', text, 'hex').slice(0, length);
}
