// Short stable content hashes for kernel object names and rule comments.
import { createHash } from 'node:crypto';

/** First `length` hex digits of SHA-256: 16 digits (64 bits) keep collisions out of reach. */
export function shortHash(text: string, length = 16): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}
