// Config text that is JSON takes JSON.parse instead of the YAML parser: same result as the same
// content written as YAML, and YAML that merely starts like JSON still parses as YAML.
import assert from 'node:assert/strict';
import { BgpConfigError, parseSpeakerConfig } from '../../bgp/config/index.js';

const YAML_TEXT = `
routerId: 192.0.2.1
localAs: 65001
peers:
  - address: 192.0.2.2
    as: 65002
announcements:
  - prefix: 10.1.0.0/16
    communities: ['65001:100']
  - prefix: 2001:db8:0:0::/64
    med: 5
`;

const AS_OBJECT = {
  routerId: '192.0.2.1',
  localAs: 65001,
  peers: [{ address: '192.0.2.2', as: 65002 }],
  announcements: [
    { prefix: '10.1.0.0/16', communities: ['65001:100'] },
    { prefix: '2001:db8:0:0::/64', med: 5 },
  ],
};

describe('bgp/config JSON text', () => {
  it('gives the same config as the same content in YAML, prefixes canonical', () => {
    const fromJson = parseSpeakerConfig(`  ${JSON.stringify(AS_OBJECT, null, 2)}\n`, 'x.json');
    assert.deepEqual(fromJson, parseSpeakerConfig(YAML_TEXT, 'x.yaml'));
    assert.equal(fromJson.announcements[1]!.prefix, '2001:db8::/64');
  });

  it('reads YAML flow style (unquoted keys, not JSON) with the YAML parser', () => {
    const flow = '{routerId: 192.0.2.1, localAs: 65001, peers: [{address: 192.0.2.2, as: 65002}]}';
    assert.equal(parseSpeakerConfig(flow, 'x.yaml').peers[0]!.as, 65002);
  });

  it('names the field of an invalid announcement in JSON text', () => {
    const bad = { ...AS_OBJECT, announcements: [{ prefix: '10.1.0.0/16' }, { prefix: '10.1.0.1/16' }] };
    assert.throws(
      () => parseSpeakerConfig(JSON.stringify(bad), 'x.json'),
      (err: unknown) =>
        err instanceof BgpConfigError && err.issues.some((i) => i.path === 'announcements[1].prefix'),
    );
  });

  it('reports text that is neither JSON nor YAML as a BgpConfigError', () => {
    assert.throws(() => parseSpeakerConfig('{"routerId": "192.0.2.1",', 'x.json'), BgpConfigError);
  });
});
