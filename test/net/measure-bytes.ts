// Measurement, not a test: throughput of src/net's byte-level address API and of the BGP codec's
// prefix path that runs on it (parsePrefix, packUpdates, decodeMessage), per address family.
// Run: node dist/test/net/measure-bytes.js [count]. Prints the median of 5 rounds after 2 warm-ups.
import {
  type CodecOptions,
  decodeMessage,
  type PathAttribute,
  type Prefix,
  packUpdates,
  parsePrefix,
} from '../../bgp/codec/index.js';
import {
  formatAddressBytes,
  IPAddress,
  type IPFamily,
  parseAddressBytes,
  writeAddressBytes,
} from '../../src/net/index.js';

const COUNT = Number(process.argv[2] ?? 200_000);
const OPTS: CodecOptions = { fourOctetAs: true, extendedMessage: false };
const BASE: PathAttribute[] = [
  { type: 'origin', origin: 'igp' },
  { type: 'as-path', segments: [{ type: 'sequence', asns: [65001] }] },
];
const ATTRS: Record<IPFamily, PathAttribute[]> = {
  4: [...BASE, { type: 'next-hop', nextHop: '10.0.0.1' }],
  6: [...BASE, { type: 'mp-reach-nlri', family: 'ipv6', nextHop: '2001:db8::1', nlri: [] }],
};

/** Distinct addresses of realistic shape: pod /32s in 10/8, and /128s under a 2001:db8::/32. */
function addresses(family: IPFamily): string[] {
  return Array.from({ length: COUNT }, (_, i) =>
    family === 4
      ? `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`
      : `2001:db8:${(i >>> 16).toString(16)}:${(i & 0xffff).toString(16)}::${((i * 7) & 0xffff).toString(16)}`,
  );
}

/** Median wall time of fn over 5 rounds, after 2 rounds of warm-up; reported as operations/s. */
function measure(name: string, fn: () => number): void {
  let sink = 0;
  for (let r = 0; r < 2; r++) sink += fn();
  const times: number[] = [];
  for (let r = 0; r < 5; r++) {
    const start = process.hrtime.bigint();
    sink += fn();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const ms = times.sort((a, b) => a - b)[2]!;
  // sink keeps the work observable so it is not optimised away.
  console.log(
    `${name.padEnd(34)} ${((COUNT / ms) * 1e3).toFixed(0).padStart(10)} /s  (${ms.toFixed(1)} ms)${sink < 0 ? '!' : ''}`,
  );
}

for (const family of [4, 6] as const) {
  const texts = addresses(family);
  const width = family === 4 ? 4 : 16;
  const buf = new Uint8Array(COUNT * width);
  for (const [i, t] of texts.entries()) writeAddressBytes(t, family, buf, i * width);
  measure(`IPv${family} writeAddressBytes`, () => {
    let ok = 0;
    for (let i = 0; i < COUNT; i++) if (writeAddressBytes(texts[i]!, family, buf, i * width)) ok++;
    return ok;
  });
  measure(`IPv${family} parseAddressBytes`, () => {
    let n = 0;
    for (const t of texts) n += parseAddressBytes(t, family)?.bytes.length ?? 0;
    return n;
  });
  measure(`IPv${family} formatAddressBytes`, () => {
    let n = 0;
    for (let i = 0; i < COUNT; i++) n += formatAddressBytes(buf, i * width, family).length;
    return n;
  });
  measure(`IPv${family} IPAddress.parse`, () => {
    let n = 0;
    for (const t of texts) n += IPAddress.parse(t).bits;
    return n;
  });
  const cidrs = texts.map((t) => `${t}/${family === 4 ? 32 : 128}`);
  measure(`IPv${family} bgp parsePrefix`, () => {
    let n = 0;
    for (const c of cidrs) n += parsePrefix(c).len;
    return n;
  });
  const prefixes: Prefix[] = cidrs.map((c) => parsePrefix(c));
  measure(`IPv${family} bgp packUpdates (prefixes)`, () => packUpdates(ATTRS[family], prefixes, OPTS).length);
  const packed = packUpdates(ATTRS[family], prefixes, OPTS);
  measure(`IPv${family} bgp decodeMessage (prefixes)`, () => {
    let n = 0;
    for (const m of packed) n += decodeMessage(m, OPTS).type.length;
    return n;
  });
}
