// Old names for two of src/net's byte-level address functions. The codec no longer uses them;
// they stay only because bgp/rib and bgp/policy import them. New code imports src/net directly.
import { writeAddressBytes } from '../../src/net/index.js';

export { parseIPv4Number as parseIPv4 } from '../../src/net/index.js';

/** Writes 16 bytes at out[off]; false (nothing written) if text is not an IPv6 address. */
export const writeIPv6 = (text: string, out: Uint8Array, off: number): boolean =>
  writeAddressBytes(text, 6, out, off);
