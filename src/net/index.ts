// The address core: parse, normalise and do arithmetic on IPv4/IPv6 addresses and prefixes, and
// the byte-level text <-> wire-bytes fast path that codecs use.
export {
  type AddressValue,
  compareAddresses,
  IPAddress,
  isAddress,
  normalizeAddress,
  type ParseAddressOptions,
  parseAddress,
  type V4MappedPolicy,
} from './address.js';
export { blockName, blockOf, carveBlocks, parseBlockName } from './blocks.js';
export {
  type AddressBytes,
  type CidrBytes,
  formatAddressBytes,
  hasHostBitsAt,
  parseAddressBytes,
  parseCidrBytes,
  parseIPv4Number,
  parsePrefixLength,
  writeAddressBytes,
} from './bytes.js';
export {
  type AddressErrorCode,
  InvalidAddressError,
  InvalidPrefixError,
  type PrefixErrorCode,
} from './errors.js';
export { familyBits, familyBytes, type IPFamily } from './family.js';
export {
  hasHostBits,
  type InterfaceAddress,
  isPrefix,
  type ParsePrefixOptions,
  Prefix,
  parseInterfaceAddress,
  parsePrefix,
} from './prefix.js';
export { ipv4PrefixKey, type PrefixKey, PrefixKeyedMap, prefixText } from './prefix-keyed-map.js';
