// The BGP listener: one socket for all peers, made by hand so TCP-MD5 keys can be added per
// peer address at any time (accepted sockets inherit them). Connections from addresses with
// no registered peer are closed at once.
import net from 'node:net';
import { TransportInputError } from './errors.js';
import { check, IPPROTO_IPV6, IPV6_V6ONLY, libc, SO_REUSEADDR, SOL_SOCKET, setIntOption } from './libc.js';
import { createSocket } from './netns.js';
import { setMd5Key, setTtlSecurity } from './options.js';
import { AF_INET6, encodeSockaddr, familyOf, type SocketFamily } from './sockaddr.js';

export interface ListenOptions {
  /** '::' accepts IPv4 and IPv6 peers; '0.0.0.0' IPv4 only. */
  readonly address: string;
  /** 179 by default; 0 picks a free port (see `port`). */
  readonly port?: number;
  readonly ttlSecurityHops?: number;
  readonly backlog?: number;
  /** Network namespace file (/run/netns/NAME) to listen in; default: ours. */
  readonly netns?: string;
}

export interface PeerAcceptor {
  readonly password?: string;
  accept(socket: net.Socket): void;
}

const LISTEN_BACKLOG = 64;

/** IPv4 peers on a dual-stack socket show up as ::ffff:a.b.c.d. */
function peerKey(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

export class BgpListener {
  readonly #server: net.Server;
  readonly #fd: number;
  readonly #family: SocketFamily;
  readonly #peers = new Map<string, PeerAcceptor>();
  /** Connections refused because no peer matched; for logs and tests. */
  refused = 0;

  private constructor(server: net.Server, fd: number, family: SocketFamily) {
    this.#server = server;
    this.#fd = fd;
    this.#family = family;
    server.on('connection', (socket) => this.#onConnection(socket));
  }

  static async open(opts: ListenOptions): Promise<BgpListener> {
    const family = familyOf(opts.address);
    const c = libc();
    const fd = createSocket(family, opts.netns, 'listener');
    const server = net.createServer({ pauseOnConnect: false });
    try {
      setIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, 'SO_REUSEADDR');
      if (family === AF_INET6)
        setIntOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, opts.address === '::' ? 0 : 1, 'IPV6_V6ONLY');
      if (opts.ttlSecurityHops !== undefined) setTtlSecurity(fd, family, opts.ttlSecurityHops);
      const addr = encodeSockaddr(opts.address, opts.port ?? 179, family);
      check(c.bind(fd, addr, addr.length), 'bind', `${opts.address} port ${opts.port ?? 179}`);
      const backlog = opts.backlog ?? LISTEN_BACKLOG;
      check(c.listen(fd, backlog), 'listen', opts.address);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ fd, backlog }, () => {
          server.removeListener('error', reject);
          resolve();
        });
      });
    } catch (err) {
      c.close(fd);
      throw err;
    }
    return new BgpListener(server, fd, family);
  }

  get port(): number {
    const a = this.#server.address();
    return typeof a === 'object' && a !== null ? a.port : 0;
  }

  /** Routes connections from `address` to the acceptor and installs its MD5 key (replacing any). */
  addPeer(address: string, acceptor: PeerAcceptor): void {
    const key = peerKey(address);
    if (net.isIP(key) === 0) throw new TransportInputError('address', `"${address}" is not an IP address`);
    const previous = this.#peers.get(key);
    if (acceptor.password !== undefined) setMd5Key(this.#fd, this.#family, key, acceptor.password);
    else if (previous?.password !== undefined) setMd5Key(this.#fd, this.#family, key, undefined);
    this.#peers.set(key, acceptor);
  }

  removePeer(address: string): void {
    const key = peerKey(address);
    const previous = this.#peers.get(key);
    if (previous === undefined) return;
    this.#peers.delete(key);
    if (previous.password !== undefined) setMd5Key(this.#fd, this.#family, key, undefined);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #onConnection(socket: net.Socket): void {
    const acceptor = this.#peers.get(peerKey(socket.remoteAddress ?? ''));
    if (acceptor === undefined) {
      this.refused++;
      socket.destroy();
      return;
    }
    acceptor.accept(socket);
  }
}
