// Defaults and validation for SessionConfig, so the FSM never meets an impossible setting.
import { isIP } from 'node:net';
import type {
  CapabilityName,
  CapabilitySettings,
  ConnectRetrySettings,
  SessionConfig,
  SessionConfigInput,
} from './config.js';
import { SessionConfigError } from './errors.js';

export const DEFAULT_CAPABILITIES: CapabilitySettings = {
  families: ['ipv4'],
  routeRefresh: true,
  enhancedRouteRefresh: true,
  fourOctetAs: true,
  extendedMessage: true,
  required: [],
};

export const DEFAULT_CONNECT_RETRY: ConnectRetrySettings = { baseMs: 2000, maxMs: 120_000, jitter: 0.25 };

const MAX_MD5_KEY = 80;
const MAX_GR_TIME = 4095;
const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function resolveSessionConfig(input: SessionConfigInput): SessionConfig {
  const families = input.capabilities?.families ?? DEFAULT_CAPABILITIES.families;
  const config: SessionConfig = {
    name: input.name ?? input.peerAddress,
    peerAddress: input.peerAddress,
    peerPort: input.peerPort ?? 179,
    peerAs: input.peerAs,
    localAs: input.localAs,
    routerId: input.routerId,
    localAddress: input.localAddress,
    localPort: input.localPort,
    passive: input.passive ?? false,
    holdTime: input.holdTime ?? 90,
    keepaliveTime: input.keepaliveTime,
    password: input.password,
    ttlSecurityHops: input.ttlSecurityHops,
    capabilities: { ...DEFAULT_CAPABILITIES, ...input.capabilities, families },
    connectRetry: { ...DEFAULT_CONNECT_RETRY, ...input.connectRetry },
    openHoldTime: input.openHoldTime ?? 240,
  };
  validate(config);
  return config;
}

function validate(c: SessionConfig): void {
  const fail = (field: string, why: string): never => {
    throw new SessionConfigError(field, why);
  };
  const integer = (field: string, v: number, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) fail(field, `${v} is not an integer in ${min}..${max}`);
  };
  if (isIP(c.peerAddress) === 0) fail('peerAddress', `"${c.peerAddress}" is not an IP address`);
  if (c.localAddress !== undefined && isIP(c.localAddress) !== isIP(c.peerAddress)) {
    fail('localAddress', `"${c.localAddress}" is not an address of the peer's family`);
  }
  integer('peerPort', c.peerPort, 1, 65535);
  if (c.localPort !== undefined) integer('localPort', c.localPort, 1, 65535);
  integer('peerAs', c.peerAs, 1, 0xffffffff);
  integer('localAs', c.localAs, 1, 0xffffffff);
  const id = DOTTED_QUAD.exec(c.routerId);
  if (id === null || id.slice(1).some((o) => Number(o) > 255) || c.routerId === '0.0.0.0') {
    fail('routerId', `"${c.routerId}" is not a non-zero dotted quad`);
  }
  if (c.holdTime !== 0) integer('holdTime', c.holdTime, 3, 65535);
  if (c.keepaliveTime !== undefined) {
    integer('keepaliveTime', c.keepaliveTime, c.holdTime === 0 ? 0 : 1, Math.floor(c.holdTime / 3));
  }
  integer('openHoldTime', c.openHoldTime, 3, 65535);
  if (c.password !== undefined) {
    const n = Buffer.byteLength(c.password);
    if (n === 0 || n > MAX_MD5_KEY) fail('password', `${n} octets; TCP-MD5 keys are 1..${MAX_MD5_KEY}`);
  }
  if (c.ttlSecurityHops !== undefined) integer('ttlSecurityHops', c.ttlSecurityHops, 1, 254);
  const caps = c.capabilities;
  if (caps.families.length === 0) fail('capabilities.families', 'at least one family');
  if (new Set(caps.families).size !== caps.families.length) fail('capabilities.families', 'duplicates');
  for (const [which, asn] of [
    ['local', c.localAs],
    ['peer', c.peerAs],
  ] as const) {
    if (!caps.fourOctetAs && asn > 0xffff) {
      fail('capabilities.fourOctetAs', `${which} AS ${asn} needs the four-octet AS capability`);
    }
  }
  for (const name of caps.required) {
    if (!advertises(caps, name)) fail('capabilities.required', `requires ${name} but does not advertise it`);
  }
  if (caps.gracefulRestart !== undefined) {
    integer('capabilities.gracefulRestart.restartTime', caps.gracefulRestart.restartTime, 0, MAX_GR_TIME);
  }
  const r = c.connectRetry;
  integer('connectRetry.baseMs', r.baseMs, 1, 3_600_000);
  integer('connectRetry.maxMs', r.maxMs, r.baseMs, 3_600_000);
  if (!(r.jitter >= 0 && r.jitter < 1)) fail('connectRetry.jitter', `${r.jitter} is not in [0, 1)`);
}

/** A required capability must also be one we send: RFC 5492 2/7 lists what we want in return. */
function advertises(caps: CapabilitySettings, name: CapabilityName): boolean {
  switch (name) {
    case 'multiprotocol-ipv4':
      return caps.families.includes('ipv4');
    case 'multiprotocol-ipv6':
      return caps.families.includes('ipv6');
    case 'route-refresh':
      return caps.routeRefresh;
    case 'enhanced-route-refresh':
      return caps.enhancedRouteRefresh;
    case 'four-octet-as':
      return caps.fourOctetAs;
    case 'extended-message':
      return caps.extendedMessage;
    case 'graceful-restart':
      return caps.gracefulRestart !== undefined;
  }
}
