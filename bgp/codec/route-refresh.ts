// ROUTE-REFRESH (RFC 2918) with the RFC 7313 message subtypes.
import type { ByteWriter } from './bytes.js';
import { ErrorCode, HEADER_LENGTH, RouteRefreshSubcode, RouteRefreshSubtype } from './constants.js';
import { BgpEncodeError, BgpError, headerError } from './errors.js';

export interface RouteRefreshMessage {
  readonly type: 'route-refresh';
  readonly afi: number;
  readonly safi: number;
  /** RouteRefreshSubtype: 0 request, 1 BoRR, 2 EoRR. Other values are to be ignored by the receiver. */
  readonly subtype: number;
}

const BODY_LENGTH = 4;

export function writeRouteRefreshBody(w: ByteWriter, msg: RouteRefreshMessage): void {
  for (const [field, v, max] of [
    ['afi', msg.afi, 0xffff],
    ['safi', msg.safi, 0xff],
    ['subtype', msg.subtype, 0xff],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new BgpEncodeError(field, `${v} is not in 0..${max}`);
  }
  w.u16(msg.afi);
  w.u8(msg.subtype);
  w.u8(msg.safi);
}

/**
 * A BoRR/EoRR of the wrong length is NOTIFICATION 7/1 carrying the whole message (RFC 7313
 * section 5). A request longer than 4 octets carries ORF entries (RFC 5291), which we do not
 * negotiate; the extra octets are ignored.
 */
export function decodeRouteRefreshBody(message: Buffer, start: number, end: number): RouteRefreshMessage {
  const bodyLength = end - start;
  if (bodyLength < BODY_LENGTH) {
    throw headerError.badLength(bodyLength + HEADER_LENGTH, 'ROUTE-REFRESH shorter than 23 octets');
  }
  const subtype = message[start + 2]!;
  const demarcation = subtype === RouteRefreshSubtype.BEGIN || subtype === RouteRefreshSubtype.END;
  if (demarcation && bodyLength !== BODY_LENGTH) {
    throw new BgpError(
      ErrorCode.ROUTE_REFRESH_MESSAGE,
      RouteRefreshSubcode.INVALID_MESSAGE_LENGTH,
      Buffer.from(message.subarray(start - HEADER_LENGTH, end)),
      `ROUTE-REFRESH subtype ${subtype} with a ${bodyLength}-octet body`,
    );
  }
  return { type: 'route-refresh', afi: message.readUInt16BE(start), subtype, safi: message[start + 3]! };
}
