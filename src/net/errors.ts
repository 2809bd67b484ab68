// Typed parse errors for addresses and prefixes. `code` lets callers (and the resource
// validator) tell a syntax slip from a semantic one without matching message text.

export type AddressErrorCode = 'syntax' | 'zone' | 'v4-mapped' | 'family';
export type PrefixErrorCode = AddressErrorCode | 'length' | 'host-bits';

export class InvalidAddressError extends Error {
  override readonly name = 'InvalidAddressError';
  constructor(
    readonly input: string,
    readonly code: AddressErrorCode,
    readonly reason: string,
  ) {
    super(`invalid IP address "${input}": ${reason}`);
  }
}

export class InvalidPrefixError extends Error {
  override readonly name = 'InvalidPrefixError';
  constructor(
    readonly input: string,
    readonly code: PrefixErrorCode,
    readonly reason: string,
  ) {
    super(`invalid CIDR "${input}": ${reason}`);
  }
}
