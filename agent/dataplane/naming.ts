// Names and fixed addresses of a pod attachment. Pure, so the CNI handler, the GC sweep and
// the policy renderer all derive the same host interface name from the same attachment.
import { createHash } from 'node:crypto';

/** Every host-side pod veth starts with this; policy's fail-closed rule matches `trl+`. */
export const HOST_VETH_PREFIX = 'trl';

/**
 * Host-side MAC of every pod veth. Fixed, so the pod's neighbour entry for its gateway never
 * changes when the veth is recreated (the same choice Calico makes).
 */
export const HOST_VETH_MAC = 'ee:ee:ee:ee:ee:ee';

/** The IPv4 gateway every pod routes through; proxy ARP on the host veth answers for it. */
export const POD_GATEWAY_V4 = '169.254.1.1';

/** The IPv6 gateway: the EUI-64 link-local address the kernel derives from HOST_VETH_MAC. */
export const POD_GATEWAY_V6 = 'fe80::ecee:eeff:feee:eeee';

/**
 * Host veth name for an attachment: prefix + 11 hex digits of sha256(containerID/ifname), 14 characters
 * (Linux allows 15). Stable across retries, so a repeated ADD finds and replaces its own veth, and
 * distinct per interface of a multi-homed container.
 */
export function hostVethName(containerId: string, ifname: string): string {
  const digest = createHash('sha256').update(`${containerId}/${ifname}`).digest('hex');
  return HOST_VETH_PREFIX + digest.slice(0, 11);
}

/** The IPAM handle of an attachment: one allocation set per container interface. */
export function attachmentHandle(containerId: string, ifname: string): string {
  return `${containerId}.${ifname}`;
}
