// A growable big-endian byte writer. Encoders write into one shared scratch writer and copy out
// the exact bytes at the end, so encoding a message costs one allocation, not one per field.

export class ByteWriter {
  private buf: Buffer;
  pos = 0;

  constructor(initialSize: number) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  reset(): this {
    this.pos = 0;
    return this;
  }

  /** The underlying storage; valid until the next write that grows it. */
  get bytes(): Buffer {
    return this.buf;
  }

  ensure(extra: number): void {
    const need = this.pos + extra;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  bytesFrom(src: Uint8Array): void {
    this.ensure(src.length);
    this.buf.set(src, this.pos);
    this.pos += src.length;
  }

  /** Skips n bytes to be filled in later with the set* methods. */
  skip(n: number): number {
    this.ensure(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  setU8(at: number, v: number): void {
    this.buf[at] = v;
  }

  setU16(at: number, v: number): void {
    this.buf.writeUInt16BE(v, at);
  }

  /** Removes n bytes at `at`, shifting everything after it left. */
  remove(at: number, n: number): void {
    this.buf.copyWithin(at, at + n, this.pos);
    this.pos -= n;
  }

  /** A copy of bytes [from, pos): the result does not alias the scratch storage. */
  copyOut(from = 0): Buffer {
    const out = Buffer.allocUnsafe(this.pos - from);
    this.buf.copy(out, 0, from, this.pos);
    return out;
  }
}

/** Shared by all encoders; encoding is synchronous, so one is enough. */
export const scratch = new ByteWriter(65536);
