// Negotiated session state that changes how bytes are read and written. The session fills these
// in after the OPEN exchange; before it, use INITIAL_OPTIONS.
import { MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH, MessageType } from './constants.js';

export interface CodecOptions {
  /** Both sides advertised capability 65 (RFC 6793): AS numbers are four octets on the wire. */
  readonly fourOctetAs: boolean;
  /** Both sides advertised capability 6 (RFC 8654): messages other than OPEN/KEEPALIVE may reach 65535. */
  readonly extendedMessage: boolean;
  /**
   * The peer is internal (iBGP or confederation). Only RFC 7606 needs this: a malformed LOCAL_PREF,
   * ORIGINATOR_ID or CLUSTER_LIST from an external peer is discarded, from an internal one it
   * withdraws the routes. Default false.
   */
  readonly internalPeer?: boolean;
}

/** What holds before capabilities are negotiated (the OPEN exchange itself). */
export const INITIAL_OPTIONS: CodecOptions = { fourOctetAs: false, extendedMessage: false };

export function maxMessageLength(opts: CodecOptions, type?: number): number {
  if (!opts.extendedMessage || type === MessageType.OPEN || type === MessageType.KEEPALIVE) {
    return MAX_MESSAGE_LENGTH;
  }
  return MAX_EXTENDED_MESSAGE_LENGTH;
}
