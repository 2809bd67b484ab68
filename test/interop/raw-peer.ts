// A minimal BGP peer for tests that must put bytes on the wire no real daemon would send (bad
// marker, bad lengths, attribute lengths overrunning the attribute block...): it dials from a
// network namespace, does the OPEN/KEEPALIVE exchange with our codec, then writes whatever it
// is given and records every message our side sends back (UPDATEs, the NOTIFICATION).

import type { Socket } from 'node:net';
import {
  type CodecOptions,
  type DecodedMessage,
  type DecodedUpdate,
  encodeMessage,
  INITIAL_OPTIONS,
  MessageReader,
  type NotificationMessage,
  openAsField,
  type UpdateMessage,
} from '../../bgp/codec/index.js';
import { connectBgp } from '../../bgp/transport/index.js';
import { waitFor } from './peers.js';

export interface RawPeerOptions {
  /** Our speaker's address and the namespace file the raw peer dials from. */
  readonly host: string;
  readonly netns: string;
  readonly localAddress: string;
  readonly as: number;
  readonly routerId: string;
}

/** Both ends are four-octet-AS speakers without extended messages. */
const SESSION_CODEC: CodecOptions = { fourOctetAs: true, extendedMessage: false };

export class RawPeer {
  readonly #socket: Socket;
  readonly #reader = new MessageReader();
  #codec: CodecOptions = INITIAL_OPTIONS;
  readonly received: DecodedMessage[] = [];
  /** What made the raw peer stop reading our bytes (they did not decode), if anything. */
  decodeError: unknown;
  closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
    });
  }

  /**
   * Dials, sends OPEN (hold time 0: no keepalives to keep up), answers our OPEN with a
   * KEEPALIVE and resolves once our KEEPALIVE has arrived: the session is Established.
   */
  static async connect(o: RawPeerOptions, timeoutMs = 10_000): Promise<RawPeer> {
    const socket = await connectBgp({
      host: o.host,
      port: 179,
      localAddress: o.localAddress,
      netns: o.netns,
      timeoutMs,
    });
    const peer = new RawPeer(socket);
    try {
      socket.write(
        encodeMessage(
          {
            type: 'open',
            myAs: openAsField(o.as),
            holdTime: 0,
            bgpId: o.routerId,
            capabilities: [
              { kind: 'multiprotocol', afi: 1, safi: 1 },
              { kind: 'four-octet-as', asn: o.as },
            ],
          },
          INITIAL_OPTIONS,
        ),
      );
      await waitFor('our OPEN', timeoutMs, () => (peer.#seen('open') ? true : undefined));
      socket.write(encodeMessage({ type: 'keepalive' }, INITIAL_OPTIONS));
      await waitFor('our KEEPALIVE', timeoutMs, () => (peer.#seen('keepalive') ? true : undefined));
    } catch (err) {
      peer.close();
      throw err;
    }
    return peer;
  }

  /** Writes bytes as they are: a crafted message, or several. */
  send(bytes: Buffer): void {
    this.#socket.write(bytes);
  }

  /** The encoded UPDATE (so a test can apply byte surgery before `send`). */
  encodeUpdate(update: UpdateMessage): Buffer {
    return encodeMessage(update, SESSION_CODEC);
  }

  /** UPDATEs our side sent, oldest first. */
  updates(): DecodedUpdate[] {
    return this.received.filter((m): m is DecodedUpdate => m.type === 'update');
  }

  /** Resolves with the NOTIFICATION our side sends; rejects if none arrives in time. */
  notification(timeoutMs = 5000): Promise<NotificationMessage> {
    return waitFor('a NOTIFICATION from our side', timeoutMs, () => {
      if (this.decodeError !== undefined) throw this.decodeError;
      return this.received.find((m): m is NotificationMessage => m.type === 'notification');
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #seen(type: DecodedMessage['type']): boolean {
    if (this.decodeError !== undefined) throw this.decodeError;
    if (this.closed) throw new Error('our side closed the connection');
    return this.received.some((m) => m.type === type);
  }

  #onData(chunk: Buffer): void {
    if (this.decodeError !== undefined) return;
    this.#reader.push(chunk);
    try {
      for (let m = this.#reader.next(this.#codec); m !== undefined; m = this.#reader.next(this.#codec)) {
        this.received.push(m);
        // Both OPENs offer four-octet AS: everything after ours is read the negotiated way.
        if (m.type === 'open') this.#codec = SESSION_CODEC;
      }
    } catch (err) {
      this.decodeError = err;
    }
  }
}
