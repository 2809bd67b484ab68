// Naming scheme for lab objects. Every namespace a lab creates is `<prefix>-<name>`, and its
// loopback carries an alias naming the run's state file, so leftovers can be found (and told
// apart from other people's namespaces) even after the state file is gone.
import { randomInt } from 'node:crypto';
import { LabInputError } from './errors.js';

/** Linux IFNAMSIZ (16) minus the terminating NUL. */
export const MAX_IFNAME_LENGTH = 15;

/** Short enough that `<prefix><7 more chars>` still fits an interface name. */
const PREFIX_PATTERN = /^[a-z][a-z0-9]{0,7}$/;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const IFNAME_PATTERN = /^[A-Za-z0-9_.-]+$/;
const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';
const MARKER_TAG = 'trellis-lab:';

/**
 * `t<base36 pid><2 random base36 chars>`: at most 8 chars (pid_max 4194304 is `2hlsg`), unique
 * among live processes, and the random tail separates runs of a reused pid.
 */
export function makeRunPrefix(pid: number = process.pid): string {
  return `t${pid.toString(36)}${BASE36[randomInt(36)]}${BASE36[randomInt(36)]}`;
}

export function validatePrefix(prefix: string): string {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new LabInputError(
      `invalid lab prefix "${prefix}": expected a lowercase letter then up to 7 lowercase letters or digits`,
    );
  }
  return prefix;
}

export function validateName(name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw new LabInputError(
      `invalid namespace name "${name}": expected 1-63 chars of letters, digits, '_', '.', '-', not starting with a symbol`,
    );
  }
  return name;
}

export function validateIfname(ifname: string): string {
  if (
    ifname.length === 0 ||
    ifname.length > MAX_IFNAME_LENGTH ||
    !IFNAME_PATTERN.test(ifname) ||
    ifname === '.' ||
    ifname === '..'
  ) {
    throw new LabInputError(
      `invalid interface name "${ifname}": expected 1-${MAX_IFNAME_LENGTH} chars of letters, digits, '_', '.', '-'`,
    );
  }
  return ifname;
}

export function namespaceName(prefix: string, name: string): string {
  return `${prefix}-${name}`;
}

/** The lab prefix a namespace name would belong to, or undefined when it does not fit the scheme. */
export function prefixOfNamespace(nsName: string): string | undefined {
  const dash = nsName.indexOf('-');
  if (dash < 0) return undefined;
  const prefix = nsName.slice(0, dash);
  return PREFIX_PATTERN.test(prefix) && NAME_PATTERN.test(nsName.slice(dash + 1)) ? prefix : undefined;
}

/** The loopback alias that marks a namespace as a lab's; it names the run's state file. */
export function markerFor(statePath: string): string {
  return MARKER_TAG + statePath;
}

/** The state file path a loopback alias names, or undefined when the alias is not a lab marker. */
export function parseMarker(alias: string): string | undefined {
  return alias.startsWith(MARKER_TAG) && alias.length > MARKER_TAG.length
    ? alias.slice(MARKER_TAG.length)
    : undefined;
}
