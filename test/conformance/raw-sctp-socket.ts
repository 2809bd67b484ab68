// An IPv4 raw socket for IP protocol 132 (SCTP), through koffi: Node has no raw sockets, and the
// test kernel has no SCTP stack, so every SCTP packet arriving in the namespace is handed to raw
// sockets of that protocol (and, because one is open, the kernel sends no protocol-unreachable).
import koffi, { type KoffiFunc } from 'koffi';

const AF_INET = 2;
const SOCK_RAW = 3;
const IPPROTO_SCTP = 132;
const SOL_SOCKET = 1;
const SO_RCVTIMEO = 20;

interface RawBindings {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Uint8Array, len: number): number;
  sendto(fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array, addrLen: number): number;
  recv: KoffiFunc<(fd: number, buf: Uint8Array, len: number, flags: number) => number>;
  close(fd: number): number;
}

let bindings: RawBindings | undefined;

function libc(): RawBindings {
  if (bindings === undefined) {
    const lib = koffi.load('libc.so.6');
    bindings = {
      socket: lib.func('int socket(int, int, int)'),
      setsockopt: lib.func('int setsockopt(int, int, int, const void *, uint32_t)'),
      sendto: lib.func('intptr_t sendto(int, const void *, size_t, int, const void *, uint32_t)'),
      recv: lib.func('intptr_t recv(int, void *, size_t, int)'),
      close: lib.func('int close(int)'),
    };
  }
  return bindings;
}

export class RawSocketError extends Error {
  override readonly name = 'RawSocketError';
}

export interface RawSctpDatagram {
  source: string;
  destination: string;
  /** The SCTP packet, IP header removed. */
  sctp: Buffer;
}

function sockaddrIn(address: string): Buffer {
  const sa = Buffer.alloc(16);
  sa.writeUInt16LE(AF_INET, 0);
  Buffer.from(address.split('.').map(Number)).copy(sa, 4);
  return sa;
}

const ipv4 = (b: Buffer, at: number): string => [...b.subarray(at, at + 4)].join('.');

export class RawSctpSocket {
  readonly #fd: number;
  #closed = false;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /**
   * `pollMs` bounds each blocking receive (SO_RCVTIMEO) so a closed socket's receive loop ends
   * within that time instead of blocking a koffi worker thread forever.
   */
  static open(pollMs = 500): RawSctpSocket {
    const fd = libc().socket(AF_INET, SOCK_RAW, IPPROTO_SCTP);
    if (fd < 0) throw new RawSocketError(`socket(AF_INET, SOCK_RAW, 132): errno ${koffi.errno()}`);
    const tv = Buffer.alloc(16); // struct timeval on LP64
    tv.writeBigInt64LE(BigInt(Math.floor(pollMs / 1000)), 0);
    tv.writeBigInt64LE(BigInt((pollMs % 1000) * 1000), 8);
    if (libc().setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, tv.length) < 0) {
      libc().close(fd);
      throw new RawSocketError(`setsockopt(SO_RCVTIMEO): errno ${koffi.errno()}`);
    }
    return new RawSctpSocket(fd);
  }

  /** The kernel adds the IPv4 header (source: the route's preferred address). */
  send(destination: string, sctp: Buffer): void {
    const sa = sockaddrIn(destination);
    if (libc().sendto(this.#fd, sctp, sctp.length, 0, sa, sa.length) < 0) {
      throw new RawSocketError(`sendto ${destination}: errno ${koffi.errno()}`);
    }
  }

  /**
   * Calls `onPacket` for every SCTP packet the namespace receives, until close(). The blocking
   * recv runs on a koffi worker thread, so the event loop stays free.
   */
  async receiveLoop(onPacket: (d: RawSctpDatagram) => void): Promise<void> {
    const buf = Buffer.alloc(65536);
    while (!this.#closed) {
      const n = await new Promise<number>((resolve, reject) => {
        libc().recv.async(this.#fd, buf, buf.length, 0, (err: unknown, res: number) =>
          err ? reject(err) : resolve(res),
        );
      });
      // Negative: the poll timeout (EAGAIN) or a signal; errno of a worker thread is not ours.
      if (n < 20 || this.#closed) continue;
      const ihl = (buf[0]! & 0x0f) * 4;
      if (n < ihl) continue;
      onPacket({
        source: ipv4(buf, 12),
        destination: ipv4(buf, 16),
        sctp: Buffer.from(buf.subarray(ihl, n)),
      });
    }
    libc().close(this.#fd);
  }

  /** The receive loop closes the descriptor once its pending receive returns. */
  close(): void {
    this.#closed = true;
  }
}
