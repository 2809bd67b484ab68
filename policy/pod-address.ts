// Pod addresses as the compiler keeps them: parsed once per pod version, with their canonical
// text. Clusters list tens of thousands of pod IPs, nearly all plain IPv4, so those take a
// direct path; anything else goes through the general parser.
import { parseIPv4Number } from '../src/net/index.js';
import { formatIp, type IpAddress, parseIp } from './cidr.js';

export interface PodAddress extends IpAddress {
  /** Canonical text (as the kernel prints it). */
  text: string;
}

/** Same result as `parseIp` plus `formatIp`; undefined for anything `parseIp` rejects. */
export function parsePodAddress(text: string): PodAddress | undefined {
  const v4 = parseIPv4Number(text);
  // A strict dotted quad (no leading zeros) is canonical already.
  if (v4 !== undefined) return { family: 4, value: BigInt(v4), text };
  const addr = parseIp(text);
  return addr === undefined ? undefined : { family: addr.family, value: addr.value, text: formatIp(addr) };
}
