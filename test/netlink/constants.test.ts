import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TRELLIS_RT_PROTO } from '../../src/netlink/index.js';

const SNIPPET = new URL('../../../src/netlink/rt_protos.d/trellis.conf', import.meta.url);

/** "id name" lines of an iproute2 rt_protos file. */
function protoLines(text: string): [number, string][] {
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter((l) => l !== '')
    .map((l) => {
      const [id, name] = l.split(/\s+/);
      return [Number(id), name!];
    });
}

describe('netlink/constants', () => {
  it('ships an rt_protos.d snippet naming TRELLIS_RT_PROTO "trellis"', () => {
    assert.deepEqual(protoLines(readFileSync(SNIPPET, 'utf8')), [[TRELLIS_RT_PROTO, 'trellis']]);
  });

  it('uses an id no installed iproute2 rt_protos file gives to anyone else', () => {
    const files = ['/etc/iproute2/rt_protos', '/usr/share/iproute2/rt_protos'].filter(existsSync);
    for (const dir of ['/etc/iproute2/rt_protos.d', '/usr/share/iproute2/rt_protos.d'].filter(existsSync)) {
      files.push(
        ...readdirSync(dir)
          .filter((f) => f.endsWith('.conf'))
          .map((f) => join(dir, f)),
      );
    }
    assert.ok(files.length > 0, 'iproute2 is installed');
    for (const file of files) {
      for (const [id, name] of protoLines(readFileSync(file, 'utf8'))) {
        assert.ok(id !== TRELLIS_RT_PROTO || name === 'trellis', `${file} gives ${id} to ${name}`);
      }
    }
  });
});
