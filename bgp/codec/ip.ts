// IP address text <-> wire bytes. Written here rather than taken from src/net because this is the
// per-prefix hot path (100k prefixes/s): no bigint, no intermediate objects, write straight into
// the output buffer. Text out is canonical (dotted quad; RFC 5952 for IPv6) so decoded values
// compare equal as strings.

const DOT = 46;

/** The address as an unsigned 32-bit number, or undefined if text is not a canonical dotted quad. */
export function parseIPv4(text: string): number | undefined {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === DOT) {
      if (digits === 0 || dots === 3) return undefined;
      value = value * 256 + part;
      part = 0;
      digits = 0;
      dots++;
    } else if (c >= 48 && c <= 57) {
      // No leading zeros: "010" is octal to some parsers and decimal to others.
      if (digits === 1 && part === 0) return undefined;
      part = part * 10 + (c - 48);
      digits++;
      if (part > 255) return undefined;
    } else {
      return undefined;
    }
  }
  if (digits === 0 || dots !== 3) return undefined;
  return value * 256 + part;
}

export function formatIPv4(buf: Uint8Array, off: number): string {
  return `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`;
}

function parseHexGroup(text: string): number {
  if (text.length === 0 || text.length > 4) return -1;
  let v = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

/** Appends the 16-bit words of a colon-separated group list to words; false on bad syntax. */
function parseGroups(text: string, words: number[], allowDottedTail: boolean): boolean {
  if (text === '') return true;
  const groups = text.split(':');
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    if (allowDottedTail && i === groups.length - 1 && g.includes('.')) {
      const v4 = parseIPv4(g);
      if (v4 === undefined) return false;
      words.push(v4 >>> 16, v4 & 0xffff);
      return true;
    }
    const w = parseHexGroup(g);
    if (w < 0) return false;
    words.push(w);
  }
  return true;
}

/** Writes 16 bytes at out[off]; false (nothing written) if text is not an IPv6 address. */
export function writeIPv6(text: string, out: Uint8Array, off: number): boolean {
  const gap = text.indexOf('::');
  const head: number[] = [];
  const tail: number[] = [];
  if (gap === -1) {
    if (!parseGroups(text, head, true) || head.length !== 8) return false;
  } else {
    if (text.indexOf('::', gap + 1) !== -1) return false;
    const tailText = text.slice(gap + 2);
    if (!parseGroups(text.slice(0, gap), head, false) || !parseGroups(tailText, tail, true)) return false;
    if (head.length + tail.length > 7) return false;
  }
  const zeros = 8 - head.length - tail.length;
  let p = off;
  for (const w of head) {
    out[p++] = w >>> 8;
    out[p++] = w & 0xff;
  }
  for (let i = 0; i < zeros; i++) {
    out[p++] = 0;
    out[p++] = 0;
  }
  for (const w of tail) {
    out[p++] = w >>> 8;
    out[p++] = w & 0xff;
  }
  return true;
}

/** RFC 5952 text: lower-case hex, no leading zeros, the longest (first) run of >= 2 zero words as "::". */
export function formatIPv6(buf: Uint8Array, off: number): string {
  const words = new Array<number>(8);
  for (let i = 0; i < 8; i++) words[i] = (buf[off + 2 * i]! << 8) | buf[off + 2 * i + 1]!;
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestStart < 0) return words.map((w) => w.toString(16)).join(':');
  const left = words.slice(0, bestStart).map((w) => w.toString(16));
  const right = words.slice(bestStart + bestLen).map((w) => w.toString(16));
  return `${left.join(':')}::${right.join(':')}`;
}
