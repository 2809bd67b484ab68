// An MRT TABLE_DUMP_V2 file (RFC 6396 section 4.3) of IPv4 unicast routes with ORIGIN IGP, an
// empty AS_PATH and one NEXT_HOP: `gobgp mrt inject global FILE` loads it into GoBGP's global
// RIB in one call, the only way to hand gobgpd 100,000 local routes without a gRPC client.

const MRT_TABLE_DUMP_V2 = 13;
const PEER_INDEX_TABLE = 1;
const RIB_IPV4_UNICAST = 2;

function ipv4Bytes(address: string): number[] {
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
    throw new RangeError(`not an IPv4 address: ${address}`);
  }
  return octets;
}

function record(subtype: number, body: Buffer): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt32BE(0, 0); // timestamp: irrelevant to an injected table
  header.writeUInt16BE(MRT_TABLE_DUMP_V2, 4);
  header.writeUInt16BE(subtype, 6);
  header.writeUInt32BE(body.length, 8);
  return Buffer.concat([header, body]);
}

/** One peer (index 0, IPv4, 4-octet AS) that every RIB entry names as its source. */
function peerIndexTable(routerId: string, as: number): Buffer {
  return record(
    PEER_INDEX_TABLE,
    Buffer.from([
      ...ipv4Bytes(routerId), // collector BGP id
      0,
      0, // view name length
      0,
      1, // peer count
      0b10, // peer type: IPv4 address, 4-octet AS
      ...ipv4Bytes(routerId),
      ...ipv4Bytes(routerId),
      (as >>> 24) & 0xff,
      (as >>> 16) & 0xff,
      (as >>> 8) & 0xff,
      as & 0xff,
    ]),
  );
}

/** `prefixes` as `a.b.c.d/len`, all with the same attributes. */
export function mrtTableDump(opts: {
  readonly routerId: string;
  readonly as: number;
  readonly nextHop: string;
  readonly prefixes: readonly string[];
}): Buffer {
  // ORIGIN IGP, AS_PATH empty, NEXT_HOP (flags 0x40: well-known transitive).
  const attrs = Buffer.from([0x40, 1, 1, 0, 0x40, 2, 0, 0x40, 3, 4, ...ipv4Bytes(opts.nextHop)]);
  const records = [peerIndexTable(opts.routerId, opts.as)];
  opts.prefixes.forEach((prefix, sequence) => {
    const [address = '', lengthText = ''] = prefix.split('/');
    const length = Number(lengthText);
    if (!Number.isInteger(length) || length < 0 || length > 32) {
      throw new RangeError(`not an IPv4 prefix: ${prefix}`);
    }
    const nlri = ipv4Bytes(address).slice(0, Math.ceil(length / 8));
    const head = Buffer.alloc(4);
    head.writeUInt32BE(sequence, 0);
    const entry = Buffer.alloc(10);
    entry.writeUInt16BE(1, 0); // entry count
    entry.writeUInt16BE(0, 2); // peer index
    entry.writeUInt32BE(0, 4); // originated time
    entry.writeUInt16BE(attrs.length, 8);
    records.push(
      record(RIB_IPV4_UNICAST, Buffer.concat([head, Buffer.from([length, ...nlri]), entry, attrs])),
    );
  });
  return Buffer.concat(records);
}
