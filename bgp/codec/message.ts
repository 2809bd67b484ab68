// Whole messages: the 19-octet header (RFC 4271 section 4.1) around each body codec.
import { scratch } from './bytes.js';
import {
  HEADER_LENGTH,
  MARKER_LENGTH,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
} from './constants.js';
import { BgpEncodeError, headerError } from './errors.js';
import { decodeNotificationBody, type NotificationMessage, writeNotificationBody } from './notification.js';
import { decodeOpenBody, type OpenMessage, writeOpenBody } from './open.js';
import { type CodecOptions, maxMessageLength } from './options.js';
import { decodeRouteRefreshBody, type RouteRefreshMessage, writeRouteRefreshBody } from './route-refresh.js';
import { type DecodedUpdate, decodeUpdateBody, type UpdateMessage, writeUpdateBody } from './update.js';

export interface KeepaliveMessage {
  readonly type: 'keepalive';
}

export type BgpMessage =
  | OpenMessage
  | UpdateMessage
  | NotificationMessage
  | KeepaliveMessage
  | RouteRefreshMessage;

/** What decodeMessage returns: an UPDATE also says how RFC 7606 wants it handled. */
export type DecodedMessage =
  | OpenMessage
  | DecodedUpdate
  | NotificationMessage
  | KeepaliveMessage
  | RouteRefreshMessage;

const TYPE_CODE: Record<BgpMessage['type'], number> = {
  open: MessageType.OPEN,
  update: MessageType.UPDATE,
  notification: MessageType.NOTIFICATION,
  keepalive: MessageType.KEEPALIVE,
  'route-refresh': MessageType.ROUTE_REFRESH,
};

/** Encodes one message. Throws BgpEncodeError if a field is invalid or the result exceeds the session's limit. */
export function encodeMessage(msg: BgpMessage, opts: CodecOptions): Buffer {
  const type = TYPE_CODE[msg.type];
  if (type === undefined) throw new BgpEncodeError('type', `unknown message type "${String(msg.type)}"`);
  const w = scratch.reset();
  w.ensure(HEADER_LENGTH);
  w.bytes.fill(0xff, 0, MARKER_LENGTH);
  w.pos = MARKER_LENGTH + 2;
  w.u8(type);
  switch (msg.type) {
    case 'open':
      writeOpenBody(w, msg);
      break;
    case 'update':
      writeUpdateBody(w, msg, opts);
      break;
    case 'notification':
      writeNotificationBody(w, msg);
      break;
    case 'keepalive':
      break;
    case 'route-refresh':
      writeRouteRefreshBody(w, msg);
      break;
  }
  const max = maxMessageLength(opts, type);
  if (w.pos > max) throw new BgpEncodeError(msg.type, `${w.pos} octets exceed the ${max}-octet limit`);
  w.setU16(MARKER_LENGTH, w.pos);
  return w.copyOut();
}

export interface MessageHeader {
  readonly length: number;
  readonly type: number;
}

/**
 * Checks the header at buf[off] (at least 19 octets): marker all ones (1/1), length within
 * 19..4096, or 65535 with extended messages (1/2). The type is checked by decodeMessage.
 */
export function readHeader(buf: Buffer, off: number, opts: CodecOptions): MessageHeader {
  for (let i = 0; i < MARKER_LENGTH; i++) if (buf[off + i] !== 0xff) throw headerError.notSynchronized();
  const length = buf.readUInt16BE(off + MARKER_LENGTH);
  if (length < HEADER_LENGTH) throw headerError.badLength(length, 'shorter than the header');
  const limit = opts.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
  if (length > limit) throw headerError.badLength(length, `exceeds ${limit}`);
  return { length, type: buf[off + MARKER_LENGTH + 2]! };
}

/** Decodes exactly one message occupying all of buf. Throws only BgpError. */
export function decodeMessage(buf: Buffer, opts: CodecOptions): DecodedMessage {
  if (buf.length < HEADER_LENGTH) throw headerError.badLength(buf.length, 'fewer octets than a header');
  const { length, type } = readHeader(buf, 0, opts);
  if (length !== buf.length) throw headerError.badLength(length, `the buffer holds ${buf.length} octets`);
  if (length > maxMessageLength(opts, type))
    throw headerError.badLength(length, `exceeds ${MAX_MESSAGE_LENGTH} for type ${type}`);
  const start = HEADER_LENGTH;
  switch (type) {
    case MessageType.OPEN:
      return decodeOpenBody(buf, start, length);
    case MessageType.UPDATE:
      return decodeUpdateBody(buf, start, length, opts);
    case MessageType.NOTIFICATION:
      return decodeNotificationBody(buf, start, length);
    case MessageType.KEEPALIVE:
      if (length !== HEADER_LENGTH) throw headerError.badLength(length, 'KEEPALIVE is exactly 19 octets');
      return { type: 'keepalive' };
    case MessageType.ROUTE_REFRESH:
      return decodeRouteRefreshBody(buf, start, length);
    default:
      throw headerError.badType(type);
  }
}
