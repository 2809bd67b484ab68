// Numeric constants of the netlink / rtnetlink ABI (linux/netlink.h, linux/rtnetlink.h,
// linux/if_link.h, linux/if_addr.h, linux/veth.h). Only what this client encodes or decodes.

/**
 * Routing-protocol id stamped on every route Trellis installs (`rtm_protocol`), so Trellis can
 * list, reconcile and flush exactly its own routes and never touch anyone else's.
 * 45 (0x2d) is unused by the kernel's RTPROT_* list (linux/rtnetlink.h: 0-18, 42 babel,
 * 99 openr, 186-192), iproute2's /etc/iproute2/rt_protos, and FRR's rt_protos.d (186-197);
 * neighbours in the free range are not claimed by BIRD (12), Calico (80) or Cilium either.
 * `docs/netlink.md` ships the rt_protos.d snippet that makes `ip route` print `proto trellis`.
 */
export const TRELLIS_RT_PROTO = 45;

export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_UNSPEC = 0;

// Netlink socket level.
export const AF_NETLINK = 16;
export const NETLINK_ROUTE = 0;
export const SOL_SOCKET = 1;
export const SOL_NETLINK = 270;
export const SO_SNDBUF = 7;
export const SO_RCVBUF = 8;
export const SO_SNDBUFFORCE = 32;
export const SO_RCVBUFFORCE = 33;
export const SO_RCVTIMEO = 20;
export const NETLINK_CAP_ACK = 10;
export const NETLINK_EXT_ACK = 11;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
export const SOCK_NONBLOCK = 0o4000;
/** Multicast group of link notifications (RTNLGRP_LINK as a bind(2) group mask). */
export const RTMGRP_LINK = 1;
export const CLONE_NEWNET = 0x40000000;

// nlmsghdr.
export const NLMSG_HDRLEN = 16;
export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
export const NLMSG_OVERRUN = 4;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** In an NLMSG_ERROR: the echoed request was cut to its header (NETLINK_CAP_ACK). */
export const NLM_F_CAPPED = 0x100;
/** In an NLMSG_ERROR: extended-ACK TLVs follow the echoed request (NETLINK_EXT_ACK). */
export const NLM_F_ACK_TLVS = 0x200;
export const NLMSGERR_ATTR_MSG = 1;

// rtnetlink message types.
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_SETLINK = 19;
export const RTM_NEWADDR = 20;
export const RTM_DELADDR = 21;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_DELROUTE = 25;
export const RTM_GETROUTE = 26;
export const RTM_NEWNEXTHOP = 104;
export const RTM_DELNEXTHOP = 105;
export const RTM_GETNEXTHOP = 106;
/** struct nhmsg: family, scope, protocol, reserved, flags (u32). */
export const NHMSG_LEN = 8;
export const NHA_ID = 1;
export const NHA_OIF = 5;
export const NHA_GATEWAY = 6;

// Fixed-header sizes.
export const IFINFOMSG_LEN = 16;
export const IFADDRMSG_LEN = 8;
export const RTMSG_LEN = 12;
export const RTA_HDRLEN = 4;
export const RTNH_LEN = 8;

// Link attributes (IFLA_*), link-info and veth.
export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_OPERSTATE = 16;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_FD = 28;
export const IFLA_LINK_NETNSID = 37;
export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const VETH_INFO_PEER = 1;
export const IFF_UP = 0x1;
export const IFF_LOWER_UP = 0x10000;

// Address attributes.
export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_FLAGS = 8;
export const IFA_F_NODAD = 0x02;
export const IFA_F_PERMANENT = 0x80;

// Route attributes.
export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_MULTIPATH = 9;
export const RTA_TABLE = 15;
/** A route's nexthop object (kernel 5.3+), instead of gateway/oif/multipath. */
export const RTA_NH_ID = 30;
export const RTNH_F_ONLINK = 4;
/** rtm_flags bit on cached/cloned (not FIB) routes that IPv6 dumps can include. */
export const RTM_F_CLONED = 0x200;

export const RT_TABLE_UNSPEC = 0;
export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;

export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RT_SCOPE_NOWHERE = 255;

export const RTN_UNSPEC = 0;
export const RTN_UNICAST = 1;
export const RTN_LOCAL = 2;
export const RTN_BLACKHOLE = 6;
export const RTN_PROHIBIT = 8;

export const RTPROT_UNSPEC = 0;
