// Community values (RFC 1997) and their conventional text forms.
import { BgpEncodeError } from '../errors.js';
import type { LargeCommunity } from './types.js';

/** RFC 1997, RFC 3765, RFC 8326 well-known communities. */
export const WellKnownCommunity = {
  GRACEFUL_SHUTDOWN: 0xffff0000,
  NO_EXPORT: 0xffffff01,
  NO_ADVERTISE: 0xffffff02,
  NO_EXPORT_SUBCONFED: 0xffffff03,
  NO_PEER: 0xffffff04,
} as const;

/** `asn:value` as the 32-bit community. */
export function community(asn: number, value: number): number {
  if (
    !Number.isInteger(asn) ||
    !Number.isInteger(value) ||
    asn < 0 ||
    asn > 0xffff ||
    value < 0 ||
    value > 0xffff
  ) {
    throw new BgpEncodeError('community', `${asn}:${value}: both halves must be in 0..65535`);
  }
  return asn * 0x10000 + value;
}

export function formatCommunity(c: number): string {
  return `${Math.floor(c / 0x10000)}:${c % 0x10000}`;
}

export function formatLargeCommunity(c: LargeCommunity): string {
  return `${c.globalAdmin}:${c.localData1}:${c.localData2}`;
}
