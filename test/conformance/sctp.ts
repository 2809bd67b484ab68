// The slice of SCTP (RFC 9260) the conformance probe needs: a common header plus one INIT or
// INIT-ACK chunk, with the CRC32c checksum. The kernel under test has no SCTP sockets, so the
// probe and the server craft these packets themselves on raw sockets; conntrack and the
// iptables `sctp` match see a genuine association setup (INIT, then INIT-ACK).

export const CHUNK_INIT = 1;
export const CHUNK_INIT_ACK = 2;
const PARAM_STATE_COOKIE = 7;
const COMMON_HEADER = 12;
const INIT_FIXED = 20; // chunk header (4) + tag, a_rwnd, streams, TSN (16)

/** A packet that is not a well-formed single INIT / INIT-ACK; `reason` says what is wrong. */
export class SctpDecodeError extends Error {
  override readonly name = 'SctpDecodeError';
}

/** Refused encoder input (a field out of range); nothing is encoded. */
export class SctpEncodeError extends Error {
  override readonly name = 'SctpEncodeError';
}

export interface InitFields {
  initiateTag: number;
  arwnd: number;
  outboundStreams: number;
  inboundStreams: number;
  initialTsn: number;
}

export interface InitPacket {
  srcPort: number;
  dstPort: number;
  /** Must be 0 for INIT (the peer's tag is not known yet). */
  verificationTag: number;
  chunk: { type: typeof CHUNK_INIT } & InitFields;
}

export interface InitAckPacket {
  srcPort: number;
  dstPort: number;
  /** The INIT's initiate tag. */
  verificationTag: number;
  chunk: { type: typeof CHUNK_INIT_ACK; stateCookie: Uint8Array } & InitFields;
}

export type SctpPacket = InitPacket | InitAckPacket;

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC32c (Castagnoli, reflected), as RFC 9260 appendix A and RFC 3720 B.4 define it. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = (crc >>> 8) ^ CRC32C_TABLE[(crc ^ b) & 0xff]!;
  return (crc ^ 0xffffffff) >>> 0;
}

function checkField(name: string, value: number, bits: 16 | 32): void {
  const max = bits === 16 ? 0xffff : 0xffffffff;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new SctpEncodeError(`${name} ${value} is not a ${bits}-bit unsigned integer`);
  }
}

export function encodeSctp(packet: SctpPacket): Buffer {
  checkField('srcPort', packet.srcPort, 16);
  checkField('dstPort', packet.dstPort, 16);
  checkField('verificationTag', packet.verificationTag, 32);
  const c = packet.chunk;
  checkField('initiateTag', c.initiateTag, 32);
  checkField('arwnd', c.arwnd, 32);
  checkField('outboundStreams', c.outboundStreams, 16);
  checkField('inboundStreams', c.inboundStreams, 16);
  checkField('initialTsn', c.initialTsn, 32);
  // RFC 9260 3.3.2: a zero initiate tag or stream count is a protocol violation.
  if (c.initiateTag === 0) throw new SctpEncodeError('initiateTag must not be 0');
  if (c.outboundStreams === 0 || c.inboundStreams === 0) {
    throw new SctpEncodeError('stream counts must not be 0');
  }
  if (c.type === CHUNK_INIT && packet.verificationTag !== 0) {
    throw new SctpEncodeError('an INIT carries verification tag 0');
  }
  const cookie = c.type === CHUNK_INIT_ACK ? c.stateCookie : undefined;
  if (c.type === CHUNK_INIT_ACK && (cookie!.length === 0 || cookie!.length > 0xffff - 4 - INIT_FIXED)) {
    throw new SctpEncodeError(`state cookie of ${cookie!.length} bytes`);
  }
  const paramLen = cookie === undefined ? 0 : 4 + cookie.length;
  const chunkLen = INIT_FIXED + paramLen;
  const buf = Buffer.alloc(COMMON_HEADER + pad4(chunkLen));
  buf.writeUInt16BE(packet.srcPort, 0);
  buf.writeUInt16BE(packet.dstPort, 2);
  buf.writeUInt32BE(packet.verificationTag, 4);
  let o = COMMON_HEADER;
  buf.writeUInt8(c.type, o);
  buf.writeUInt16BE(chunkLen, o + 2);
  buf.writeUInt32BE(c.initiateTag, o + 4);
  buf.writeUInt32BE(c.arwnd, o + 8);
  buf.writeUInt16BE(c.outboundStreams, o + 12);
  buf.writeUInt16BE(c.inboundStreams, o + 14);
  buf.writeUInt32BE(c.initialTsn, o + 16);
  o += INIT_FIXED;
  if (cookie !== undefined) {
    buf.writeUInt16BE(PARAM_STATE_COOKIE, o);
    buf.writeUInt16BE(paramLen, o + 2);
    buf.set(cookie, o + 4);
  }
  // The CRC is computed with the field zeroed and stored least significant byte first, as the
  // Linux stack does (`cpu_to_le32(~crc32c(...))`): it is the reflected CRC's natural order.
  buf.writeUInt32LE(crc32c(buf), 8);
  return buf;
}

const pad4 = (n: number): number => (n + 3) & ~3;

/** Decodes an SCTP packet (no IP header) holding exactly one INIT or INIT-ACK chunk. */
export function decodeSctp(bytes: Uint8Array): SctpPacket {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < COMMON_HEADER + 4) throw new SctpDecodeError(`${buf.length} bytes: too short`);
  const stored = buf.readUInt32LE(8);
  const zeroed = Buffer.from(buf);
  zeroed.writeUInt32LE(0, 8);
  const computed = crc32c(zeroed);
  if (stored !== computed) {
    throw new SctpDecodeError(`checksum ${hex(stored)} does not match computed ${hex(computed)}`);
  }
  const srcPort = buf.readUInt16BE(0);
  const dstPort = buf.readUInt16BE(2);
  const verificationTag = buf.readUInt32BE(4);
  const o = COMMON_HEADER;
  const type = buf.readUInt8(o);
  const chunkLen = buf.readUInt16BE(o + 2);
  if (type !== CHUNK_INIT && type !== CHUNK_INIT_ACK) {
    throw new SctpDecodeError(`chunk type ${type} is neither INIT nor INIT-ACK`);
  }
  if (chunkLen < INIT_FIXED || o + chunkLen > buf.length) {
    throw new SctpDecodeError(`chunk length ${chunkLen} does not fit ${buf.length - o} bytes`);
  }
  if (pad4(o + chunkLen) !== buf.length) {
    throw new SctpDecodeError('INIT and INIT-ACK must be the only chunk in a packet');
  }
  const fields: InitFields = {
    initiateTag: buf.readUInt32BE(o + 4),
    arwnd: buf.readUInt32BE(o + 8),
    outboundStreams: buf.readUInt16BE(o + 12),
    inboundStreams: buf.readUInt16BE(o + 14),
    initialTsn: buf.readUInt32BE(o + 16),
  };
  const params = buf.subarray(o + INIT_FIXED, o + chunkLen);
  if (type === CHUNK_INIT) {
    if (verificationTag !== 0)
      throw new SctpDecodeError(`INIT with verification tag ${hex(verificationTag)}`);
    return { srcPort, dstPort, verificationTag, chunk: { type, ...fields } };
  }
  const stateCookie = findParam(params, PARAM_STATE_COOKIE);
  if (stateCookie === undefined) throw new SctpDecodeError('INIT-ACK without a State Cookie');
  return { srcPort, dstPort, verificationTag, chunk: { type, ...fields, stateCookie } };
}

function findParam(params: Buffer, wanted: number): Uint8Array | undefined {
  let o = 0;
  while (o + 4 <= params.length) {
    const type = params.readUInt16BE(o);
    const len = params.readUInt16BE(o + 2);
    if (len < 4 || o + len > params.length) throw new SctpDecodeError(`parameter length ${len} at ${o}`);
    if (type === wanted) return Uint8Array.from(params.subarray(o + 4, o + len));
    o += pad4(len);
  }
  return undefined;
}

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;
