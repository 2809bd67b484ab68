// The address core: parse, normalise and do arithmetic on IPv4/IPv6 addresses and prefixes.
export {
  familyBits,
  IPAddress,
  type IPFamily,
  isAddress,
  normalizeAddress,
  type ParseAddressOptions,
  parseAddress,
  type V4MappedPolicy,
} from './address.js';
export { blockName, blockOf, carveBlocks, parseBlockName } from './blocks.js';
export {
  type AddressErrorCode,
  InvalidAddressError,
  InvalidPrefixError,
  type PrefixErrorCode,
} from './errors.js';
export {
  hasHostBits,
  type InterfaceAddress,
  isPrefix,
  type ParsePrefixOptions,
  Prefix,
  parseInterfaceAddress,
  parsePrefix,
} from './prefix.js';
