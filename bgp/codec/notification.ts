// NOTIFICATION (RFC 4271 section 4.5) with the shutdown communication of RFC 8203 / RFC 9003 for
// Cease / Administrative Shutdown and Cease / Administrative Reset.
import type { ByteWriter } from './bytes.js';
import { CeaseSubcode, ErrorCode, HEADER_LENGTH, MessageType } from './constants.js';
import { BgpEncodeError, type BgpError, headerError } from './errors.js';
import { type CodecOptions, maxMessageLength } from './options.js';

export interface NotificationMessage {
  readonly type: 'notification';
  readonly code: number;
  readonly subcode: number;
  /**
   * Present only for Cease/2 and Cease/4 whose data starts with a valid shutdown communication
   * (length octet + UTF-8). `data` then holds what follows it (normally nothing).
   */
  readonly shutdownCommunication?: string;
  readonly data: Buffer;
}

/** RFC 9003 raised the limit from 128 to 255 octets. */
export const MAX_SHUTDOWN_COMMUNICATION = 255;

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** With the u flag, paired surrogates form one code point, so only lone ones match. */
const LONE_SURROGATE = /\p{Cs}/u;

export function carriesShutdownCommunication(code: number, subcode: number): boolean {
  return (
    code === ErrorCode.CEASE &&
    (subcode === CeaseSubcode.ADMINISTRATIVE_SHUTDOWN || subcode === CeaseSubcode.ADMINISTRATIVE_RESET)
  );
}

/** Cease/2 (shutdown) or Cease/4 (reset) with an operator's message. */
export function shutdownNotification(
  subcode: typeof CeaseSubcode.ADMINISTRATIVE_SHUTDOWN | typeof CeaseSubcode.ADMINISTRATIVE_RESET,
  communication: string,
): NotificationMessage {
  return {
    type: 'notification',
    code: ErrorCode.CEASE,
    subcode,
    shutdownCommunication: communication,
    data: Buffer.alloc(0),
  };
}

/** The NOTIFICATION that reports err, with data cut so the message fits the peer's limit (RFC 8654 section 5). */
export function notificationFor(err: BgpError, opts: CodecOptions): NotificationMessage {
  const room = maxMessageLength(opts, MessageType.NOTIFICATION) - HEADER_LENGTH - 2;
  return { type: 'notification', code: err.code, subcode: err.subcode, data: err.data.subarray(0, room) };
}

export function writeNotificationBody(w: ByteWriter, msg: NotificationMessage): void {
  for (const [field, v] of [
    ['code', msg.code],
    ['subcode', msg.subcode],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 255) throw new BgpEncodeError(field, `${v} is not in 0..255`);
  }
  w.u8(msg.code);
  w.u8(msg.subcode);
  if (msg.shutdownCommunication !== undefined) {
    if (!carriesShutdownCommunication(msg.code, msg.subcode)) {
      throw new BgpEncodeError(
        'shutdownCommunication',
        `only Cease/2 and Cease/4 carry one, not ${msg.code}/${msg.subcode}`,
      );
    }
    if (LONE_SURROGATE.test(msg.shutdownCommunication)) {
      throw new BgpEncodeError('shutdownCommunication', 'contains a lone UTF-16 surrogate');
    }
    const text = Buffer.from(msg.shutdownCommunication, 'utf8');
    if (text.length > MAX_SHUTDOWN_COMMUNICATION) {
      throw new BgpEncodeError(
        'shutdownCommunication',
        `${text.length} octets of UTF-8, limit ${MAX_SHUTDOWN_COMMUNICATION}`,
      );
    }
    w.u8(text.length);
    w.bytesFrom(text);
  }
  w.bytesFrom(msg.data);
}

export function decodeNotificationBody(buf: Buffer, start: number, end: number): NotificationMessage {
  if (end - start < 2)
    throw headerError.badLength(end - start + HEADER_LENGTH, 'NOTIFICATION shorter than 21 octets');
  const code = buf[start]!;
  const subcode = buf[start + 1]!;
  const rest = start + 2;
  if (carriesShutdownCommunication(code, subcode) && rest < end) {
    const len = buf[rest]!;
    const textEnd = rest + 1 + len;
    // An invalid length or UTF-8 sequence is to be logged, not interpreted (RFC 8203 section 4):
    // the bytes then stay in `data`.
    const text = textEnd <= end ? decodeUtf8(buf.subarray(rest + 1, textEnd)) : undefined;
    if (text !== undefined) {
      return {
        type: 'notification',
        code,
        subcode,
        shutdownCommunication: text,
        data: Buffer.from(buf.subarray(textEnd, end)),
      };
    }
  }
  return { type: 'notification', code, subcode, data: Buffer.from(buf.subarray(rest, end)) };
}

function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}
