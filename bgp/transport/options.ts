// Socket options set before connect/listen: TCP-MD5 keys and GTSM. They must be on the socket
// before the first SYN (an unsigned SYN is dropped by an MD5 peer), hence raw fds.
import {
  check,
  IP_MINTTL,
  IP_TTL,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  IPV6_MINHOPCOUNT,
  IPV6_UNICAST_HOPS,
  libc,
  setIntOption,
  TCP_MD5SIG,
} from './libc.js';
import { AF_INET, encodeMd5Sig, type SocketFamily, TCP_MD5SIG_SIZE } from './sockaddr.js';

/** Adds (key given) or removes (undefined) the TCP-MD5 key for segments to and from `peer`. */
export function setMd5Key(fd: number, family: SocketFamily, peer: string, key: string | undefined): void {
  const sig = encodeMd5Sig(peer, family, key);
  check(
    libc().setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, sig, TCP_MD5SIG_SIZE),
    'setsockopt',
    `TCP_MD5SIG ${peer}`,
  );
}

const MAX_TTL = 255;

/**
 * GTSM (RFC 5082): send with TTL 255, drop segments that arrive with fewer than 256 - hops.
 * A dual-stack IPv6 socket carries IPv4 peers too, so it gets both sets.
 */
export function setTtlSecurity(fd: number, family: SocketFamily, hops: number): void {
  const minimum = MAX_TTL + 1 - hops;
  setIntOption(fd, IPPROTO_IP, IP_TTL, MAX_TTL, 'IP_TTL');
  setIntOption(fd, IPPROTO_IP, IP_MINTTL, minimum, 'IP_MINTTL');
  if (family === AF_INET) return;
  setIntOption(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, MAX_TTL, 'IPV6_UNICAST_HOPS');
  setIntOption(fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, minimum, 'IPV6_MINHOPCOUNT');
}
