// Framing for a TCP byte stream: feed chunks as they arrive, take complete messages out. The
// caller passes the current CodecOptions on every read because they change mid-stream (the
// OPEN exchange negotiates them), possibly between two messages of one chunk.
import { HEADER_LENGTH } from './constants.js';
import { type DecodedMessage, decodeMessage, readHeader } from './message.js';
import type { CodecOptions } from './options.js';

export class MessageReader {
  private readonly chunks: Buffer[] = [];
  /** Offset of the first unread octet in chunks[0]. */
  private offset = 0;
  private buffered = 0;
  private readonly header = Buffer.alloc(HEADER_LENGTH);

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** Octets received but not yet returned as a message. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /**
   * The next complete message's bytes (header included), or undefined until more arrive. Throws
   * BgpError 1/1 or 1/2 for a bad header, consuming nothing. The result may share memory with
   * pushed chunks; decodeMessage copies whatever it keeps.
   */
  nextFrame(opts: CodecOptions): Buffer | undefined {
    if (this.buffered < HEADER_LENGTH) return undefined;
    const { length } = readHeader(this.peekHeader(), 0, opts);
    if (this.buffered < length) return undefined;
    return this.take(length);
  }

  /** nextFrame, decoded. The frame is consumed even if decoding throws. */
  next(opts: CodecOptions): DecodedMessage | undefined {
    const frame = this.nextFrame(opts);
    return frame === undefined ? undefined : decodeMessage(frame, opts);
  }

  private peekHeader(): Buffer {
    const first = this.chunks[0]!;
    if (first.length - this.offset >= HEADER_LENGTH)
      return first.subarray(this.offset, this.offset + HEADER_LENGTH);
    this.copyInto(this.header, HEADER_LENGTH);
    return this.header;
  }

  /** Copies the first n buffered octets into out without consuming them. */
  private copyInto(out: Buffer, n: number): void {
    let copied = 0;
    let offset = this.offset;
    for (const chunk of this.chunks) {
      const count = Math.min(n - copied, chunk.length - offset);
      chunk.copy(out, copied, offset, offset + count);
      copied += count;
      offset = 0;
      if (copied === n) return;
    }
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length - this.offset >= n) {
      out = first.subarray(this.offset, this.offset + n);
    } else {
      out = Buffer.allocUnsafe(n);
      this.copyInto(out, n);
    }
    this.skip(n);
    return out;
  }

  private skip(n: number): void {
    this.buffered -= n;
    let left = n;
    while (left > 0) {
      const first = this.chunks[0]!;
      const available = first.length - this.offset;
      if (available > left) {
        this.offset += left;
        return;
      }
      left -= available;
      this.chunks.shift();
      this.offset = 0;
    }
  }
}
