// Capabilities carried in OPEN (RFC 5492): one interface per capability, unknown ones kept raw so
// the session can ignore them or name them in a NOTIFICATION 2/7.
import { ByteWriter } from './bytes.js';
import { CapabilityCode, OpenSubcode } from './constants.js';
import { BgpEncodeError, type BgpError, openError, unspecificOpenError } from './errors.js';

export interface MultiprotocolCapability {
  readonly kind: 'multiprotocol';
  readonly afi: number;
  readonly safi: number;
}

export interface RouteRefreshCapability {
  readonly kind: 'route-refresh';
}

export interface ExtendedMessageCapability {
  readonly kind: 'extended-message';
}

export interface GracefulRestartFamily {
  readonly afi: number;
  readonly safi: number;
  /** F bit: forwarding state for this family was preserved across the restart. */
  readonly forwardingPreserved: boolean;
}

export interface GracefulRestartCapability {
  readonly kind: 'graceful-restart';
  /** R bit (RFC 4724): the sender has restarted; do not wait for its End-of-RIB. */
  readonly restarting: boolean;
  /** N bit (RFC 8538): the sender supports graceful restart for NOTIFICATION messages. */
  readonly notification: boolean;
  /** Seconds, 0..4095. */
  readonly restartTime: number;
  readonly families: readonly GracefulRestartFamily[];
}

export interface FourOctetAsCapability {
  readonly kind: 'four-octet-as';
  readonly asn: number;
}

export interface EnhancedRouteRefreshCapability {
  readonly kind: 'enhanced-route-refresh';
}

export interface UnknownCapability {
  readonly kind: 'unknown';
  readonly code: number;
  readonly value: Buffer;
}

export type Capability =
  | MultiprotocolCapability
  | RouteRefreshCapability
  | ExtendedMessageCapability
  | GracefulRestartCapability
  | FourOctetAsCapability
  | EnhancedRouteRefreshCapability
  | UnknownCapability;

const TYPED_CODES: ReadonlySet<number> = new Set(Object.values(CapabilityCode));
const GR_RESTARTING = 0x8;
const GR_NOTIFICATION = 0x4;
const GR_FORWARDING = 0x80;
const MAX_RESTART_TIME = 0xfff;

function checkUint(value: number, max: number, field: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new BgpEncodeError(field, `${value} is not an integer in 0..${max}`);
  }
}

/** Writes one capability TLV (code, length, value). */
export function writeCapability(w: ByteWriter, cap: Capability, field: string): void {
  const start = w.pos;
  w.u8(0);
  const lengthAt = w.skip(1);
  switch (cap.kind) {
    case 'multiprotocol':
      w.setU8(start, CapabilityCode.MULTIPROTOCOL);
      checkUint(cap.afi, 0xffff, `${field}.afi`);
      checkUint(cap.safi, 0xff, `${field}.safi`);
      w.u16(cap.afi);
      w.u8(0);
      w.u8(cap.safi);
      break;
    case 'route-refresh':
      w.setU8(start, CapabilityCode.ROUTE_REFRESH);
      break;
    case 'extended-message':
      w.setU8(start, CapabilityCode.EXTENDED_MESSAGE);
      break;
    case 'graceful-restart': {
      w.setU8(start, CapabilityCode.GRACEFUL_RESTART);
      checkUint(cap.restartTime, MAX_RESTART_TIME, `${field}.restartTime`);
      if (cap.families.length > 63) throw new BgpEncodeError(`${field}.families`, 'more than 63 families');
      const flags = (cap.restarting ? GR_RESTARTING : 0) | (cap.notification ? GR_NOTIFICATION : 0);
      w.u16((flags << 12) | cap.restartTime);
      cap.families.forEach((f, i) => {
        checkUint(f.afi, 0xffff, `${field}.families[${i}].afi`);
        checkUint(f.safi, 0xff, `${field}.families[${i}].safi`);
        w.u16(f.afi);
        w.u8(f.safi);
        w.u8(f.forwardingPreserved ? GR_FORWARDING : 0);
      });
      break;
    }
    case 'four-octet-as':
      w.setU8(start, CapabilityCode.FOUR_OCTET_AS);
      checkUint(cap.asn, 0xffffffff, `${field}.asn`);
      w.u32(cap.asn);
      break;
    case 'enhanced-route-refresh':
      w.setU8(start, CapabilityCode.ENHANCED_ROUTE_REFRESH);
      break;
    case 'unknown':
      checkUint(cap.code, 0xff, `${field}.code`);
      if (TYPED_CODES.has(cap.code))
        throw new BgpEncodeError(`${field}.code`, `capability ${cap.code} has a typed form`);
      if (cap.value.length > 255) throw new BgpEncodeError(`${field}.value`, 'longer than 255 octets');
      w.setU8(start, cap.code);
      w.bytesFrom(cap.value);
      break;
  }
  w.setU8(lengthAt, w.pos - lengthAt - 1);
}

/** Decodes the capability TLVs in buf[start, end), in order (duplicates kept). */
export function decodeCapabilities(buf: Buffer, start: number, end: number): Capability[] {
  const out: Capability[] = [];
  let off = start;
  while (off < end) {
    if (off + 2 > end)
      throw unspecificOpenError('truncated capability header', Buffer.from(buf.subarray(off, end)));
    const code = buf[off]!;
    const len = buf[off + 1]!;
    if (off + 2 + len > end) {
      throw unspecificOpenError(
        `capability ${code} overruns its parameter`,
        Buffer.from(buf.subarray(off, end)),
      );
    }
    out.push(decodeCapability(code, buf.subarray(off + 2, off + 2 + len), buf.subarray(off, off + 2 + len)));
    off += 2 + len;
  }
  return out;
}

function decodeCapability(code: number, v: Buffer, tlv: Buffer): Capability {
  const bad = (why: string): BgpError => unspecificOpenError(`capability ${code}: ${why}`, Buffer.from(tlv));
  const expectLength = (n: number): void => {
    if (v.length !== n) throw bad(`length ${v.length}, expected ${n}`);
  };
  switch (code) {
    case CapabilityCode.MULTIPROTOCOL:
      expectLength(4);
      return { kind: 'multiprotocol', afi: v.readUInt16BE(0), safi: v[3]! };
    case CapabilityCode.ROUTE_REFRESH:
      expectLength(0);
      return { kind: 'route-refresh' };
    case CapabilityCode.EXTENDED_MESSAGE:
      expectLength(0);
      return { kind: 'extended-message' };
    case CapabilityCode.GRACEFUL_RESTART: {
      if (v.length < 2 || (v.length - 2) % 4 !== 0) throw bad(`length ${v.length} is not 2 + 4n`);
      const head = v.readUInt16BE(0);
      const flags = head >>> 12;
      const families: GracefulRestartFamily[] = [];
      for (let i = 2; i < v.length; i += 4) {
        families.push({
          afi: v.readUInt16BE(i),
          safi: v[i + 2]!,
          forwardingPreserved: (v[i + 3]! & GR_FORWARDING) !== 0,
        });
      }
      return {
        kind: 'graceful-restart',
        restarting: (flags & GR_RESTARTING) !== 0,
        notification: (flags & GR_NOTIFICATION) !== 0,
        restartTime: head & MAX_RESTART_TIME,
        families,
      };
    }
    case CapabilityCode.FOUR_OCTET_AS:
      expectLength(4);
      return { kind: 'four-octet-as', asn: v.readUInt32BE(0) };
    case CapabilityCode.ENHANCED_ROUTE_REFRESH:
      expectLength(0);
      return { kind: 'enhanced-route-refresh' };
    default:
      return { kind: 'unknown', code, value: Buffer.from(v) };
  }
}

/** NOTIFICATION 2/7 (RFC 5492): the data field lists the capabilities the peer must offer or drop. */
export function unsupportedCapabilityError(caps: readonly Capability[]): BgpError {
  const w = new ByteWriter(64);
  for (const [i, c] of caps.entries()) writeCapability(w, c, `capabilities[${i}]`);
  return openError(OpenSubcode.UNSUPPORTED_CAPABILITY, 'unsupported capability', w.copyOut());
}
