// TCP for BGP: outgoing connections and the listener, with TCP-MD5 (RFC 2385) and GTSM (RFC 5082).
export { type ConnectOptions, connectBgp } from './connect.js';
export { ConnectTimeoutError, TransportError, TransportInputError } from './errors.js';
export { BgpListener, type ListenOptions, type PeerAcceptor } from './listener.js';
export { encodeMd5Sig, encodeSockaddr, TCP_MD5SIG_SIZE } from './sockaddr.js';
