// Byte layouts handed to the kernel: sockaddr_in/sockaddr_in6 and struct tcp_md5sig (Linux
// include/uapi/linux/tcp.h). Pure, so their layout is tested without sockets.
import { isIPv4, isIPv6 } from 'node:net';
import ipaddr from 'ipaddr.js';
import { TransportInputError } from './errors.js';

export const AF_INET = 2;
export const AF_INET6 = 10;
const SOCKADDR_IN_SIZE = 16;
const SOCKADDR_IN6_SIZE = 28;
/** sizeof(struct sockaddr_storage): tcp_md5sig starts with one. */
const SOCKADDR_STORAGE_SIZE = 128;
export const TCP_MD5SIG_SIZE = 216;
export const TCP_MD5SIG_MAXKEYLEN = 80;

export type SocketFamily = typeof AF_INET | typeof AF_INET6;

/** The family a socket for this address needs. */
export function familyOf(address: string): SocketFamily {
  if (isIPv4(address)) return AF_INET;
  if (isIPv6(address)) return AF_INET6;
  throw new TransportInputError('address', `"${address}" is not an IP address`);
}

/**
 * sockaddr for `address` on a socket of `family`. An IPv4 address on an IPv6 socket becomes
 * ::ffff:a.b.c.d (how a dual-stack socket sees IPv4 peers, and so how their MD5 keys match).
 */
export function encodeSockaddr(
  address: string,
  port: number,
  family: SocketFamily = familyOf(address),
): Buffer {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TransportInputError('port', `${port} is not in 0..65535`);
  }
  const own = familyOf(address);
  if (family === AF_INET) {
    if (own !== AF_INET) throw new TransportInputError('address', `${address} on an IPv4 socket`);
    const b = Buffer.alloc(SOCKADDR_IN_SIZE);
    b.writeUInt16LE(AF_INET, 0);
    b.writeUInt16BE(port, 2);
    Buffer.from(ipaddr.IPv4.parse(address).toByteArray()).copy(b, 4);
    return b;
  }
  const b = Buffer.alloc(SOCKADDR_IN6_SIZE);
  b.writeUInt16LE(AF_INET6, 0);
  b.writeUInt16BE(port, 2);
  const v6 = own === AF_INET ? ipaddr.IPv4.parse(address).toIPv4MappedAddress() : ipaddr.IPv6.parse(address);
  Buffer.from(v6.toByteArray()).copy(b, 8);
  return b;
}

/** struct tcp_md5sig adding (key given) or deleting (key undefined) the key for one peer address. */
export function encodeMd5Sig(peer: string, family: SocketFamily, key: string | undefined): Buffer {
  const keyBytes = Buffer.from(key ?? '', 'utf8');
  if (keyBytes.length > TCP_MD5SIG_MAXKEYLEN) {
    throw new TransportInputError(
      'password',
      `${keyBytes.length} octets, TCP-MD5 allows ${TCP_MD5SIG_MAXKEYLEN}`,
    );
  }
  const b = Buffer.alloc(TCP_MD5SIG_SIZE);
  encodeSockaddr(peer, 0, family).copy(b, 0);
  // flags (u8) and prefixlen (u8) stay 0: one exact address, no ifindex binding.
  b.writeUInt16LE(keyBytes.length, SOCKADDR_STORAGE_SIZE + 2);
  keyBytes.copy(b, SOCKADDR_STORAGE_SIZE + 8);
  return b;
}
