// The part of net.Socket a session uses. Narrow so the FSM runs over in-memory pairs in tests.

export interface BgpSocket {
  write(data: Uint8Array): boolean;
  end(): void;
  destroy(): void;
  /** Stop and restart 'data' events (net.Socket's; the kernel buffers meanwhile). */
  pause(): this;
  resume(): this;
  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'close' | 'drain', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  once(event: 'close' | 'drain', listener: () => void): this;
  removeListener(event: 'close' | 'drain', listener: () => void): this;
  readonly destroyed: boolean;
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
}

/** Opens the outgoing TCP connection for a session (plain, or TCP-MD5 / GTSM through bgp/transport). */
export type Dialer = (signal: AbortSignal) => Promise<BgpSocket>;

/** IPv4 peers on a dual-stack socket show up as ::ffff:a.b.c.d. */
export function plainAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
