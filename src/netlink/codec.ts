// Pure encode/decode of netlink messages: nlmsghdr framing, the rtnetlink fixed headers
// (ifinfomsg, ifaddrmsg, rtmsg, rtnexthop, nlmsgerr) and (nested) route attributes.
// Everything is host byte order (little-endian on every platform Trellis ships for) and
// 4-byte aligned (NLMSG_ALIGN == NLA_ALIGN == 4). Decoders throw only NetlinkDecodeError.
import {
  IFADDRMSG_LEN,
  IFINFOMSG_LEN,
  NLM_F_ACK_TLVS,
  NLM_F_CAPPED,
  NLMSG_HDRLEN,
  NLMSGERR_ATTR_MSG,
  RTA_HDRLEN,
  RTMSG_LEN,
  RTNH_LEN,
} from './constants.js';
import { NetlinkDecodeError } from './errors.js';

/** NLMSG_ALIGN / NLA_ALIGN: round up to a multiple of 4. */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

// ---------------------------------------------------------------------------------------
// Attributes

/** A leaf attribute: type and raw value bytes. */
export interface LeafAttr {
  readonly type: number;
  readonly data: Uint8Array;
}

/** A nested attribute whose value is itself a list of attributes. */
export interface NestedAttr {
  readonly type: number;
  readonly attrs: readonly RtAttr[];
}

export type RtAttr = LeafAttr | NestedAttr;

/** Kernel-set flag bits in nla_type that are not part of the attribute number. */
const NLA_TYPE_MASK = 0x3fff;

export function attrBytes(type: number, data: Uint8Array): LeafAttr {
  return { type, data };
}

export function attrU8(type: number, value: number): LeafAttr {
  return { type, data: Uint8Array.of(value) };
}

export function attrU16(type: number, value: number): LeafAttr {
  const data = Buffer.allocUnsafe(2);
  data.writeUInt16LE(value, 0);
  return { type, data };
}

export function attrU32(type: number, value: number): LeafAttr {
  const data = Buffer.allocUnsafe(4);
  data.writeUInt32LE(value >>> 0, 0);
  return { type, data };
}

/** A NUL-terminated string attribute (IFLA_IFNAME, IFLA_INFO_KIND...). */
export function attrString(type: number, value: string): LeafAttr {
  const bytes = Buffer.from(value, 'utf8');
  const data = Buffer.alloc(bytes.length + 1);
  bytes.copy(data, 0);
  return { type, data };
}

export function attrNested(type: number, attrs: readonly RtAttr[]): NestedAttr {
  return { type, attrs };
}

function isNested(attr: RtAttr): attr is NestedAttr {
  return 'attrs' in attr;
}

/** Encoded size of one attribute including its header and trailing padding. */
export function attrLength(attr: RtAttr): number {
  return align4(RTA_HDRLEN + attrPayloadLength(attr));
}

function attrPayloadLength(attr: RtAttr): number {
  return isNested(attr) ? attrsLength(attr.attrs) : attr.data.length;
}

export function attrsLength(attrs: readonly RtAttr[]): number {
  let total = 0;
  for (const a of attrs) total += attrLength(a);
  return total;
}

/** Writes one attribute header (length covers header + payload, without padding). */
export function writeAttrHeader(buf: Buffer, at: number, type: number, payloadLength: number): number {
  const length = RTA_HDRLEN + payloadLength;
  if (length > 0xffff || type > 0xffff || at + RTA_HDRLEN > buf.length) {
    throw new RangeError(`attribute ${type} of ${length} bytes does not fit at offset ${at}`);
  }
  // Byte stores, not writeUInt16LE: route batches write 100k+ headers and its per-call checks
  // cost more than the stores (the one check above covers them).
  buf[at] = length & 0xff;
  buf[at + 1] = length >>> 8;
  buf[at + 2] = type & 0xff;
  buf[at + 3] = type >>> 8;
  return at + RTA_HDRLEN;
}

/** Writes a u32 attribute; returns the offset after it. */
export function writeAttrU32(buf: Buffer, at: number, type: number, value: number): number {
  writeAttrHeader(buf, at, type, 4);
  buf.writeUInt32LE(value >>> 0, at + RTA_HDRLEN);
  return at + RTA_HDRLEN + 4;
}

/** Writes an IPv4 address attribute from its value as a number (network byte order on the wire). */
export function writeAttrIPv4(buf: Buffer, at: number, type: number, address: number): number {
  const start = writeAttrHeader(buf, at, type, 4);
  if (start + 4 > buf.length) throw new RangeError(`attribute ${type} does not fit at offset ${at}`);
  buf[start] = address >>> 24;
  buf[start + 1] = (address >>> 16) & 0xff;
  buf[start + 2] = (address >>> 8) & 0xff;
  buf[start + 3] = address & 0xff;
  return start + 4;
}

/** Writes a byte-string attribute and zeroes its padding; returns the aligned offset after it. */
export function writeAttrBytes(buf: Buffer, at: number, type: number, data: Uint8Array): number {
  const start = writeAttrHeader(buf, at, type, data.length);
  const end = start + data.length;
  const padded = align4(end);
  if (padded > buf.length) throw new RangeError(`attribute ${type} does not fit at offset ${at}`);
  // Addresses are 4 or 16 bytes: a loop beats set()'s call overhead at that size.
  if (data.length <= 16) for (let i = 0; i < data.length; i++) buf[start + i] = data[i]!;
  else buf.set(data, start);
  for (let i = end; i < padded; i++) buf[i] = 0;
  return padded;
}

/** Writes attributes at `offset`; returns the offset after the last one (padding zeroed). */
export function encodeAttrsInto(buf: Buffer, offset: number, attrs: readonly RtAttr[]): number {
  let at = offset;
  for (const attr of attrs) {
    if (isNested(attr)) {
      const start = writeAttrHeader(buf, at, attr.type, attrsLength(attr.attrs));
      at = encodeAttrsInto(buf, start, attr.attrs);
    } else {
      at = writeAttrBytes(buf, at, attr.type, attr.data);
    }
  }
  return at;
}

export function encodeAttrs(attrs: readonly RtAttr[]): Buffer {
  const buf = Buffer.allocUnsafe(attrsLength(attrs));
  encodeAttrsInto(buf, 0, attrs);
  return buf;
}

/**
 * Calls `visit(type, valueOffset, valueLength)` for each attribute in `buf[offset, end)`,
 * without allocating: the route dump path decodes 100k messages through this.
 * Trailing bytes shorter than an attribute header are an error: the kernel never sends them.
 */
export function forEachAttr(
  buf: Buffer,
  offset: number,
  end: number,
  visit: (type: number, at: number, length: number) => void,
): void {
  let at = offset;
  while (at < end) {
    if (end - at < RTA_HDRLEN) throw new NetlinkDecodeError('truncated attribute header', at);
    const len = buf.readUInt16LE(at);
    const type = buf.readUInt16LE(at + 2) & NLA_TYPE_MASK;
    if (len < RTA_HDRLEN || at + len > end) {
      throw new NetlinkDecodeError(`attribute ${type} length ${len} out of bounds`, at);
    }
    visit(type, at + RTA_HDRLEN, len - RTA_HDRLEN);
    at += align4(len);
  }
}

/** Splits `buf[offset, end)` into attributes. Values are views into `buf` (no copy). */
export function decodeAttrs(buf: Uint8Array, offset = 0, end = buf.length): LeafAttr[] {
  const view = toBuffer(buf);
  const out: LeafAttr[] = [];
  forEachAttr(view, offset, end, (type, at, length) => {
    out.push({ type, data: view.subarray(at, at + length) });
  });
  return out;
}

/** Attributes by type; a repeated type keeps its last value (as the kernel's nla_parse does). */
export function attrMap(attrs: readonly LeafAttr[]): Map<number, Uint8Array> {
  const map = new Map<number, Uint8Array>();
  for (const a of attrs) map.set(a.type, a.data);
  return map;
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function expectLength(data: Uint8Array, want: number, what: string): Buffer {
  if (data.length < want) {
    throw new NetlinkDecodeError(`${what}: need ${want} bytes, have ${data.length}`, 0);
  }
  return toBuffer(data);
}

export function readU8(data: Uint8Array, what = 'u8 attribute'): number {
  return expectLength(data, 1, what).readUInt8(0);
}

export function readU16(data: Uint8Array, what = 'u16 attribute'): number {
  return expectLength(data, 2, what).readUInt16LE(0);
}

export function readU32(data: Uint8Array, what = 'u32 attribute'): number {
  return expectLength(data, 4, what).readUInt32LE(0);
}

export function readS32(data: Uint8Array, what = 's32 attribute'): number {
  return expectLength(data, 4, what).readInt32LE(0);
}

/** A string attribute up to its first NUL (or its end, if the sender omitted the NUL). */
export function readString(data: Uint8Array): string {
  const nul = data.indexOf(0);
  return toBuffer(data).toString('utf8', 0, nul === -1 ? data.length : nul);
}

// ---------------------------------------------------------------------------------------
// nlmsghdr framing

export interface NlHeader {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly pid: number;
}

/**
 * What follows the nlmsghdr in a message to encode. Hot paths (route batches) implement this
 * directly to write into the send buffer without building intermediate attribute objects.
 */
export interface NlPayload {
  /** Bytes after the nlmsghdr, a multiple of 4. */
  readonly payloadLength: number;
  /** Writes exactly `payloadLength` bytes at `offset`, padding zeroed. */
  writePayload(buf: Buffer, offset: number): void;
}

/** A payload made of a fixed family header (ifinfomsg, ifaddrmsg, rtmsg) and attributes. */
export function payloadOf(body: Uint8Array, attrs: readonly RtAttr[]): NlPayload {
  const bodyLength = align4(body.length);
  return {
    payloadLength: bodyLength + attrsLength(attrs),
    writePayload(buf: Buffer, offset: number): void {
      buf.set(body, offset);
      buf.fill(0, offset + body.length, offset + bodyLength);
      encodeAttrsInto(buf, offset + bodyLength, attrs);
    },
  };
}

/** A decoded message; `payload` is everything after the 16-byte header (a view, no copy). */
export interface NlMessage extends NlHeader {
  readonly payload: Buffer;
}

export function messageLength(payload: NlPayload): number {
  return NLMSG_HDRLEN + payload.payloadLength;
}

/** Writes one message at `offset`; returns the offset after it. */
export function encodeMessageInto(buf: Buffer, offset: number, header: NlHeader, payload: NlPayload): number {
  const len = NLMSG_HDRLEN + payload.payloadLength;
  buf.writeUInt32LE(len, offset);
  buf.writeUInt16LE(header.type, offset + 4);
  buf.writeUInt16LE(header.flags, offset + 6);
  buf.writeUInt32LE(header.seq >>> 0, offset + 8);
  buf.writeUInt32LE(header.pid >>> 0, offset + 12);
  payload.writePayload(buf, offset + NLMSG_HDRLEN);
  return offset + len;
}

export function encodeMessage(header: NlHeader, payload: NlPayload): Buffer {
  const buf = Buffer.allocUnsafe(messageLength(payload));
  encodeMessageInto(buf, 0, header, payload);
  return buf;
}

/** Splits a datagram into messages. Payloads are views into `buf`. */
export function decodeMessages(buf: Uint8Array, length = buf.length): NlMessage[] {
  const view = toBuffer(buf);
  const out: NlMessage[] = [];
  let at = 0;
  while (at < length) {
    if (length - at < NLMSG_HDRLEN) throw new NetlinkDecodeError('truncated nlmsghdr', at);
    const len = view.readUInt32LE(at);
    if (len < NLMSG_HDRLEN || len > length - at) {
      throw new NetlinkDecodeError(`nlmsg_len ${len} out of bounds`, at);
    }
    out.push({
      type: view.readUInt16LE(at + 4),
      flags: view.readUInt16LE(at + 6),
      seq: view.readUInt32LE(at + 8),
      pid: view.readUInt32LE(at + 12),
      payload: view.subarray(at + NLMSG_HDRLEN, at + len),
    });
    at += align4(len);
  }
  return out;
}

/** The attributes that follow a fixed header of `headerLen` bytes in a message payload. */
export function messageAttrs(msg: NlMessage, headerLen: number): LeafAttr[] {
  const start = align4(headerLen);
  if (msg.payload.length < start) {
    throw new NetlinkDecodeError(`payload shorter than its ${headerLen}-byte header`, NLMSG_HDRLEN);
  }
  return decodeAttrs(msg.payload, start);
}

// ---------------------------------------------------------------------------------------
// NLMSG_ERROR

export interface NlError {
  /** Positive errno; 0 is a plain ACK. */
  readonly errno: number;
  /** Header of the request this answers (always echoed, even with NETLINK_CAP_ACK). */
  readonly request: NlHeader;
  /** Extended-ACK message text, if present. */
  readonly message: string | undefined;
}

export function decodeError(msg: NlMessage): NlError {
  const p = msg.payload;
  if (p.length < 4 + NLMSG_HDRLEN) throw new NetlinkDecodeError('truncated nlmsgerr', NLMSG_HDRLEN);
  const error = p.readInt32LE(0);
  const echoedLen = p.readUInt32LE(4);
  const request: NlHeader = {
    type: p.readUInt16LE(8),
    flags: p.readUInt16LE(10),
    seq: p.readUInt32LE(12),
    pid: p.readUInt32LE(16),
  };
  let message: string | undefined;
  if ((msg.flags & NLM_F_ACK_TLVS) !== 0) {
    // With CAP_ACK (or on success) only the echoed header is present; otherwise the whole request.
    const capped = (msg.flags & NLM_F_CAPPED) !== 0 || error === 0;
    const tlvAt = 4 + (capped ? NLMSG_HDRLEN : align4(echoedLen));
    if (tlvAt > p.length) throw new NetlinkDecodeError('extended ACK beyond message end', NLMSG_HDRLEN);
    const text = attrMap(decodeAttrs(p, tlvAt)).get(NLMSGERR_ATTR_MSG);
    if (text !== undefined) message = readString(text);
  }
  return { errno: error === 0 ? 0 : -error, request, message };
}

// ---------------------------------------------------------------------------------------
// Fixed family headers

function fixedHeader(payload: Uint8Array, len: number, what: string): Buffer {
  if (payload.length < len) throw new NetlinkDecodeError(`truncated ${what}`, NLMSG_HDRLEN);
  return toBuffer(payload);
}

export interface IfInfoMsg {
  readonly family: number;
  /** ARPHRD_* device type. */
  readonly type: number;
  readonly index: number;
  readonly flags: number;
  readonly change: number;
}

export function encodeIfInfoMsg(m: IfInfoMsg): Buffer {
  const b = Buffer.allocUnsafe(IFINFOMSG_LEN);
  b.writeUInt8(m.family, 0);
  b.writeUInt8(0, 1); // padding
  b.writeUInt16LE(m.type, 2);
  b.writeInt32LE(m.index, 4);
  b.writeUInt32LE(m.flags >>> 0, 8);
  b.writeUInt32LE(m.change >>> 0, 12);
  return b;
}

export function decodeIfInfoMsg(payload: Uint8Array): IfInfoMsg {
  const b = fixedHeader(payload, IFINFOMSG_LEN, 'ifinfomsg');
  return {
    family: b.readUInt8(0),
    type: b.readUInt16LE(2),
    index: b.readInt32LE(4),
    flags: b.readUInt32LE(8),
    change: b.readUInt32LE(12),
  };
}

export interface IfAddrMsg {
  readonly family: number;
  readonly prefixLen: number;
  readonly flags: number;
  readonly scope: number;
  readonly index: number;
}

export function encodeIfAddrMsg(m: IfAddrMsg): Buffer {
  const b = Buffer.allocUnsafe(IFADDRMSG_LEN);
  b.writeUInt8(m.family, 0);
  b.writeUInt8(m.prefixLen, 1);
  b.writeUInt8(m.flags, 2);
  b.writeUInt8(m.scope, 3);
  b.writeUInt32LE(m.index >>> 0, 4);
  return b;
}

export function decodeIfAddrMsg(payload: Uint8Array): IfAddrMsg {
  const b = fixedHeader(payload, IFADDRMSG_LEN, 'ifaddrmsg');
  return {
    family: b.readUInt8(0),
    prefixLen: b.readUInt8(1),
    flags: b.readUInt8(2),
    scope: b.readUInt8(3),
    index: b.readUInt32LE(4),
  };
}

export interface RtMsg {
  readonly family: number;
  readonly dstLen: number;
  readonly srcLen: number;
  readonly tos: number;
  readonly table: number;
  readonly protocol: number;
  readonly scope: number;
  readonly type: number;
  readonly flags: number;
}

/** Writes an rtmsg at `at`; returns the offset after it. */
export function writeRtMsg(b: Buffer, at: number, m: RtMsg): number {
  // writeUInt8 would check each field's range: callers build headers from validated values,
  // and this runs once per route of a 100k-route batch.
  if (at + RTMSG_LEN > b.length) throw new RangeError(`rtmsg does not fit at offset ${at}`);
  b[at] = m.family;
  b[at + 1] = m.dstLen;
  b[at + 2] = m.srcLen;
  b[at + 3] = m.tos;
  b[at + 4] = m.table;
  b[at + 5] = m.protocol;
  b[at + 6] = m.scope;
  b[at + 7] = m.type;
  b.writeUInt32LE(m.flags >>> 0, at + 8);
  return at + RTMSG_LEN;
}

export function encodeRtMsg(m: RtMsg): Buffer {
  const b = Buffer.allocUnsafe(RTMSG_LEN);
  writeRtMsg(b, 0, m);
  return b;
}

export function decodeRtMsg(payload: Uint8Array): RtMsg {
  const b = fixedHeader(payload, RTMSG_LEN, 'rtmsg');
  return {
    family: b.readUInt8(0),
    dstLen: b.readUInt8(1),
    srcLen: b.readUInt8(2),
    tos: b.readUInt8(3),
    table: b.readUInt8(4),
    protocol: b.readUInt8(5),
    scope: b.readUInt8(6),
    type: b.readUInt8(7),
    flags: b.readUInt32LE(8),
  };
}

// ---------------------------------------------------------------------------------------
// rtnexthop: the elements of RTA_MULTIPATH

export interface RtNextHop {
  readonly flags: number;
  /** rtnh_hops: weight minus one. */
  readonly hops: number;
  readonly ifindex: number;
  readonly attrs: readonly RtAttr[];
}

/** The value of an RTA_MULTIPATH attribute. */
export function encodeNextHops(hops: readonly RtNextHop[]): Buffer {
  let total = 0;
  for (const h of hops) total += RTNH_LEN + attrsLength(h.attrs);
  const buf = Buffer.allocUnsafe(total);
  let at = 0;
  for (const h of hops) {
    const len = RTNH_LEN + attrsLength(h.attrs);
    buf.writeUInt16LE(len, at);
    buf.writeUInt8(h.flags, at + 2);
    buf.writeUInt8(h.hops, at + 3);
    buf.writeInt32LE(h.ifindex, at + 4);
    at = encodeAttrsInto(buf, at + RTNH_LEN, h.attrs);
  }
  return buf;
}

export interface DecodedNextHop {
  readonly flags: number;
  readonly hops: number;
  readonly ifindex: number;
  readonly attrs: readonly LeafAttr[];
}

export function decodeNextHops(data: Uint8Array): DecodedNextHop[] {
  const b = toBuffer(data);
  const out: DecodedNextHop[] = [];
  let at = 0;
  while (at < b.length) {
    if (b.length - at < RTNH_LEN) throw new NetlinkDecodeError('truncated rtnexthop', at);
    const len = b.readUInt16LE(at);
    if (len < RTNH_LEN || at + len > b.length) {
      throw new NetlinkDecodeError(`rtnh_len ${len} out of bounds`, at);
    }
    out.push({
      flags: b.readUInt8(at + 2),
      hops: b.readUInt8(at + 3),
      ifindex: b.readInt32LE(at + 4),
      attrs: decodeAttrs(b, at + RTNH_LEN, at + len),
    });
    at += align4(len);
  }
  return out;
}
