// A map from prefixes to values for full routing tables (100k+ entries). An IPv4 prefix's key is
// one number, address * 64 + length (what scanCanonicalIPv4Cidr returns); the map files it under
// its length by the address as a signed 32-bit integer, which V8 keeps as a small integer: no
// key object per prefix, and no string built, flattened and hashed per lookup. Other prefixes
// (IPv6) are keyed by their canonical text.

/** address * 64 + length for an IPv4 prefix; canonical text otherwise. */
export type PrefixKey = number | string;

/** The key of an IPv4 prefix given its address as an unsigned 32-bit number. */
export const ipv4PrefixKey = (address: number, length: number): number => address * 64 + length;

/** The canonical text of a prefix key (an IPv4 key's dotted quad and length; text keys as they are). */
export function prefixText(key: PrefixKey): string {
  if (typeof key === 'string') return key;
  const length = key % 64;
  const address = (key - length) / 64;
  return `${address >>> 24}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}/${length}`;
}

export class PrefixKeyedMap<V> {
  /** Index: prefix length. */
  readonly #byLength: (Map<number, V> | undefined)[] = [];
  readonly #byText = new Map<string, V>();

  /** At most 33 maps to add up: cheaper than keeping a count on every set and delete. */
  get size(): number {
    let size = this.#byText.size;
    for (const map of this.#byLength) size += map?.size ?? 0;
    return size;
  }

  get(key: PrefixKey): V | undefined {
    if (typeof key === 'string') return this.#byText.get(key);
    const length = key % 64;
    return this.#byLength[length]?.get(addressOf(key, length));
  }

  set(key: PrefixKey, value: V): void {
    if (typeof key === 'string') {
      this.#byText.set(key, value);
      return;
    }
    const length = key % 64;
    let map = this.#byLength[length];
    if (map === undefined) {
      map = new Map();
      this.#byLength[length] = map;
    }
    map.set(addressOf(key, length), value);
  }

  delete(key: PrefixKey): boolean {
    if (typeof key === 'string') return this.#byText.delete(key);
    const length = key % 64;
    return this.#byLength[length]?.delete(addressOf(key, length)) ?? false;
  }

  /** Every key and value: IPv4 by length, then the rest; each in insertion order. */
  *entries(): IterableIterator<[PrefixKey, V]> {
    for (let length = 0; length < this.#byLength.length; length++) {
      const map = this.#byLength[length];
      if (map === undefined) continue;
      for (const [address, value] of map) yield [ipv4PrefixKey(address >>> 0, length), value];
    }
    yield* this.#byText.entries();
  }

  /** Every value: IPv4 by length, then the rest; each in insertion order. */
  *values(): IterableIterator<V> {
    for (const map of this.#byLength) if (map !== undefined) yield* map.values();
    yield* this.#byText.values();
  }
}

/** An IPv4 key's address as a signed 32-bit integer: a V8 small integer as a Map key. */
const addressOf = (key: number, length: number): number => ((key - length) / 64) | 0;
