// OPEN (RFC 4271 section 4.2) with capabilities (RFC 5492), accepting capabilities spread over
// several optional parameters and the RFC 9072 extended optional-parameter encoding.

import { formatAddressBytes, parseIPv4Number } from '../../src/net/index.js';
import type { ByteWriter } from './bytes.js';
import { type Capability, decodeCapabilities, writeCapability } from './capabilities.js';
import { AS_TRANS, BGP_VERSION, HEADER_LENGTH, OpenSubcode, OptionalParameterType } from './constants.js';
import { BgpEncodeError, headerError, openError } from './errors.js';

export interface OpenMessage {
  readonly type: 'open';
  /** The two-octet My Autonomous System field: AS_TRANS when the real AS does not fit (see openAsField). */
  readonly myAs: number;
  /** Seconds; 0 (no keepalives) or at least 3. */
  readonly holdTime: number;
  /** Dotted quad, non-zero. */
  readonly bgpId: string;
  /** All capabilities from all Capabilities optional parameters, in order. */
  readonly capabilities: readonly Capability[];
}

/** Octets after the header before the optional parameters: version, AS, hold time, id, length. */
const FIXED_BODY = 10;

/** The My Autonomous System field for an AS (RFC 6793 section 4.2.1): AS_TRANS above 65535. */
export function openAsField(asn: number): number {
  return asn > 0xffff ? AS_TRANS : asn;
}

/** The peer's real AS: the four-octet AS capability if present, else the two-octet field. */
export function peerAsn(open: OpenMessage): number {
  for (const c of open.capabilities) if (c.kind === 'four-octet-as') return c.asn;
  return open.myAs;
}

export function writeOpenBody(w: ByteWriter, msg: OpenMessage): void {
  if (!Number.isInteger(msg.myAs) || msg.myAs < 1 || msg.myAs > 0xffff) {
    throw new BgpEncodeError('myAs', `${msg.myAs} is not in 1..65535 (use openAsField)`);
  }
  if (
    !Number.isInteger(msg.holdTime) ||
    msg.holdTime < 0 ||
    msg.holdTime > 0xffff ||
    msg.holdTime === 1 ||
    msg.holdTime === 2
  ) {
    throw new BgpEncodeError('holdTime', `${msg.holdTime} is not 0 or 3..65535`);
  }
  const id = parseIPv4Number(msg.bgpId);
  if (id === undefined || id === 0)
    throw new BgpEncodeError('bgpId', `"${msg.bgpId}" is not a non-zero IPv4 address`);
  w.u8(BGP_VERSION);
  w.u16(msg.myAs);
  w.u16(msg.holdTime);
  w.u32(id);
  if (msg.capabilities.length === 0) {
    w.u8(0);
    return;
  }
  // Write the capabilities as one parameter with a one-octet length, then widen to the RFC 9072
  // encoding only if they do not fit: old speakers cannot read the extended form.
  const optLenAt = w.skip(1);
  w.u8(OptionalParameterType.CAPABILITIES);
  const paramLenAt = w.skip(1);
  for (const [i, c] of msg.capabilities.entries()) writeCapability(w, c, `capabilities[${i}]`);
  const capsLength = w.pos - paramLenAt - 1;
  if (capsLength + 2 <= 255) {
    w.setU8(paramLenAt, capsLength);
    w.setU8(optLenAt, capsLength + 2);
    return;
  }
  // Too long for one-octet lengths. RFC 9072 layout, which starts the capabilities 4 octets later:
  // [255 Non-Ext OP Len][255 Non-Ext OP Type][u16 total][2 Parm. Type][u16 Parm. Length][caps]
  const capsStart = paramLenAt + 1;
  const shift = 4;
  w.ensure(shift);
  w.bytes.copyWithin(capsStart + shift, capsStart, w.pos);
  w.pos += shift;
  w.setU8(optLenAt, 255);
  w.setU8(optLenAt + 1, OptionalParameterType.EXTENDED_LENGTH);
  w.setU16(optLenAt + 2, 3 + capsLength);
  w.setU8(optLenAt + 4, OptionalParameterType.CAPABILITIES);
  w.setU16(optLenAt + 5, capsLength);
}

export function decodeOpenBody(buf: Buffer, start: number, end: number): OpenMessage {
  const length = end - start + HEADER_LENGTH;
  if (end - start < FIXED_BODY) throw headerError.badLength(length, 'OPEN shorter than 29 octets');
  const version = buf[start]!;
  if (version !== BGP_VERSION) {
    throw openError(OpenSubcode.UNSUPPORTED_VERSION, `version ${version}`, Buffer.from([0, BGP_VERSION]));
  }
  const myAs = buf.readUInt16BE(start + 1);
  if (myAs === 0) throw openError(OpenSubcode.BAD_PEER_AS, 'My Autonomous System is 0 (RFC 7607)');
  const holdTime = buf.readUInt16BE(start + 3);
  if (holdTime === 1 || holdTime === 2) {
    throw openError(OpenSubcode.UNACCEPTABLE_HOLD_TIME, `hold time ${holdTime}`);
  }
  if (buf.readUInt32BE(start + 5) === 0)
    throw openError(OpenSubcode.BAD_BGP_IDENTIFIER, 'BGP identifier is 0');
  const bgpId = formatAddressBytes(buf, start + 5, 4);
  const optLen = buf[start + 9]!;
  let off = start + FIXED_BODY;
  let paramsEnd = off + optLen;
  // RFC 9072: a first parameter type of 255 announces two-octet lengths; the one-octet length is ignored.
  const extended = optLen > 0 && off < end && buf[off] === OptionalParameterType.EXTENDED_LENGTH;
  if (extended) {
    if (off + 3 > end) throw headerError.badLength(length, 'truncated extended optional parameters length');
    paramsEnd = off + 3 + buf.readUInt16BE(off + 1);
    off += 3;
  }
  if (paramsEnd !== end) {
    throw headerError.badLength(
      length,
      `optional parameters end at ${paramsEnd - start}, body is ${end - start}`,
    );
  }
  const headerSize = extended ? 3 : 2;
  const capabilities: Capability[] = [];
  while (off < paramsEnd) {
    if (off + headerSize > paramsEnd) throw openError(OpenSubcode.UNSPECIFIC, 'truncated optional parameter');
    const type = buf[off]!;
    const len = extended ? buf.readUInt16BE(off + 1) : buf[off + 1]!;
    const valueStart = off + headerSize;
    if (valueStart + len > paramsEnd) {
      throw openError(OpenSubcode.UNSPECIFIC, `optional parameter ${type} overruns the parameters`);
    }
    if (type !== OptionalParameterType.CAPABILITIES) {
      throw openError(OpenSubcode.UNSUPPORTED_OPTIONAL_PARAMETER, `optional parameter type ${type}`);
    }
    capabilities.push(...decodeCapabilities(buf, valueStart, valueStart + len));
    off = valueStart + len;
  }
  return { type: 'open', myAs, holdTime, bgpId, capabilities };
}
