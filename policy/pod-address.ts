// Pod addresses as the compiler keeps them: parsed once per pod version, with their canonical
// text. Clusters list tens of thousands of pod IPs, nearly all plain IPv4, so those take a
// direct path; anything else goes through the general parser.
import { formatIp, type IpAddress, parseIp } from './cidr.js';

export interface PodAddress extends IpAddress {
  /** Canonical text (as the kernel prints it). */
  text: string;
}

// Exactly the dotted quads `parseIp` accepts as IPv4: four decimal octets without leading zeros.
const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const DOTTED_QUAD = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/** Same result as `parseIp` plus `formatIp`; undefined for anything `parseIp` rejects. */
export function parsePodAddress(text: string): PodAddress | undefined {
  const quad = DOTTED_QUAD.exec(text);
  if (quad !== null) {
    const value =
      ((Number(quad[1]) << 24) >>> 0) + (Number(quad[2]) << 16) + (Number(quad[3]) << 8) + Number(quad[4]);
    // Canonical already: no leading zeros, nothing else allowed.
    return { family: 4, value: BigInt(value), text };
  }
  const addr = parseIp(text);
  return addr === undefined ? undefined : { family: addr.family, value: addr.value, text: formatIp(addr) };
}
