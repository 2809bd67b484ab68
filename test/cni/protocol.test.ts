import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CNI_ERR_DECODING_FAILURE,
  CNI_ERR_INCOMPATIBLE_VERSION,
  CNI_ERR_INVALID_ENVIRONMENT,
  CNI_ERR_INVALID_NETWORK_CONFIG,
  CNI_ERR_UNSUPPORTED_FIELD,
  CniError,
} from '../../agent/cni/errors.js';
import {
  formatError,
  formatResult,
  formatVersionReply,
  parseCniArgs,
  parseCniRequest,
  parseResult,
  requestedCniVersion,
} from '../../agent/cni/protocol.js';
import { type CniResult, type CniVersion, SUPPORTED_CNI_VERSIONS } from '../../agent/cni/types.js';

const ADD_ENV = {
  CNI_COMMAND: 'ADD',
  CNI_CONTAINERID: 'c0ffee-1',
  CNI_NETNS: '/run/netns/cni-1',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
  CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web-0',
};

const baseConfig = { cniVersion: '1.1.0', name: 'trellis', type: 'trellis-cni' };
const defaultedConfig = {
  cniVersion: '1.1.0',
  name: 'trellis',
  type: 'trellis-cni',
  mtu: 1500,
  ipam: { type: 'trellis-ipam', assignIPv4: true, assignIPv6: false },
};
const stdin = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/** Runs parseCniRequest expecting a CniError; returns it. */
function rejectWith(env: Record<string, string>, input: Buffer | unknown, code: number): CniError {
  const body = Buffer.isBuffer(input) ? input : stdin(input);
  try {
    parseCniRequest(env, body);
  } catch (e) {
    assert.ok(e instanceof CniError, `expected CniError, got ${String(e)}`);
    assert.equal(e.code, code, `code ${e.code}: ${e.msg}: ${e.details}`);
    return e;
  }
  assert.fail(`expected CNI error ${code}, request was accepted`);
}

const richResult: CniResult = {
  interfaces: [
    { name: 'tr1a2b3c4d5e6', mac: '02:00:00:00:00:01', mtu: 1500 },
    {
      name: 'eth0',
      mac: '02:00:00:00:00:02',
      mtu: 1500,
      sandbox: '/run/netns/cni-1',
      socketPath: '/x',
      pciID: '0000:00:01.0',
    },
  ],
  ips: [
    { address: '10.244.1.7/32', gateway: '169.254.1.1', interface: 1 },
    { address: 'fd00:10:244::7/128', interface: 1 },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '169.254.1.1', mtu: 1400, advmss: 1360, priority: 10, table: 254, scope: 0 },
    { dst: '::/0' },
  ],
  dns: { nameservers: ['10.96.0.10'], search: ['default.svc.cluster.local'], options: ['ndots:5'] },
};

describe('cni protocol', () => {
  describe('ADD', () => {
    it('parses a complete request and fills in defaults', () => {
      const req = parseCniRequest(ADD_ENV, stdin(baseConfig));
      assert.deepEqual(req, {
        command: 'ADD',
        config: defaultedConfig,
        path: ['/opt/cni/bin', '/usr/lib/cni'],
        containerId: 'c0ffee-1',
        ifName: 'eth0',
        netns: '/run/netns/cni-1',
        args: { IgnoreUnknown: '1', K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'web-0' },
      });
    });

    it('keeps the optional and runtime-injected fields', () => {
      const config = {
        ...baseConfig,
        mtu: 9000,
        agentSocket: '/run/trellis/other.sock',
        logLevel: 'debug',
        ipam: { ipv4Pools: ['default-ipv4', '10.244.0.0/16'], assignIPv6: true },
        dns: { nameservers: ['10.96.0.10'] },
        capabilities: { portMappings: true },
        runtimeConfig: { portMappings: [{ hostPort: 80 }] },
        args: { labels: [{ key: 'app', value: 'web' }] },
      };
      const req = parseCniRequest(ADD_ENV, stdin(config));
      assert.equal(req.command, 'ADD');
      assert.deepEqual(req.config, {
        cniVersion: '1.1.0',
        name: 'trellis',
        type: 'trellis-cni',
        mtu: 9000,
        agentSocket: '/run/trellis/other.sock',
        logLevel: 'debug',
        ipam: {
          type: 'trellis-ipam',
          ipv4Pools: ['default-ipv4', '10.244.0.0/16'],
          assignIPv4: true,
          assignIPv6: true,
        },
        dns: { nameservers: ['10.96.0.10'] },
        runtimeConfig: { portMappings: [{ hostPort: 80 }] },
        args: { labels: [{ key: 'app', value: 'web' }] },
      });
    });

    it('accepts every supported version', () => {
      for (const cniVersion of SUPPORTED_CNI_VERSIONS) {
        const req = parseCniRequest(ADD_ENV, stdin({ ...baseConfig, cniVersion }));
        assert.equal(req.command === 'VERSION' ? undefined : req.config.cniVersion, cniVersion);
      }
    });

    it('passes a chained prevResult through in the neutral shape', () => {
      const prev = {
        cniVersion: '0.4.0',
        ips: [{ version: '4', address: '10.0.0.5/24', gateway: '10.0.0.1' }],
      };
      const req = parseCniRequest(ADD_ENV, stdin({ ...baseConfig, cniVersion: '0.4.0', prevResult: prev }));
      assert.ok(req.command === 'ADD');
      assert.deepEqual(req.prevResult, {
        interfaces: [],
        ips: [{ address: '10.0.0.5/24', gateway: '10.0.0.1' }],
        routes: [],
      });
    });
  });

  describe('environment (code 4)', () => {
    for (const missing of ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME']) {
      it(`ADD without ${missing}`, () => {
        const env: Record<string, string> = { ...ADD_ENV };
        delete env[missing];
        const e = rejectWith(env, baseConfig, CNI_ERR_INVALID_ENVIRONMENT);
        assert.equal(e.details, missing);
      });
    }

    it('names every missing variable at once, and treats empty as missing', () => {
      const e = rejectWith({ CNI_COMMAND: 'CHECK', CNI_NETNS: '' }, baseConfig, CNI_ERR_INVALID_ENVIRONMENT);
      assert.equal(e.details, 'CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME');
    });

    it('DEL needs no CNI_NETNS', () => {
      const env: Record<string, string> = { ...ADD_ENV, CNI_COMMAND: 'DEL' };
      delete env['CNI_NETNS'];
      const req = parseCniRequest(env, stdin(baseConfig));
      assert.equal(req.command, 'DEL');
      assert.equal('netns' in req, false);
    });

    it('GC needs CNI_PATH; STATUS needs nothing', () => {
      const gc = { ...baseConfig, 'cni.dev/valid-attachments': [] };
      assert.equal(rejectWith({ CNI_COMMAND: 'GC' }, gc, CNI_ERR_INVALID_ENVIRONMENT).details, 'CNI_PATH');
      assert.deepEqual(parseCniRequest({ CNI_COMMAND: 'STATUS' }, stdin(baseConfig)), {
        command: 'STATUS',
        config: defaultedConfig,
        path: [],
      });
    });

    it('rejects a missing or unknown CNI_COMMAND', () => {
      assert.equal(rejectWith({}, baseConfig, CNI_ERR_INVALID_ENVIRONMENT).details, 'CNI_COMMAND');
      const e = rejectWith({ ...ADD_ENV, CNI_COMMAND: 'add' }, baseConfig, CNI_ERR_INVALID_ENVIRONMENT);
      assert.match(e.details, /CNI_COMMAND="add": expected one of ADD, DEL, CHECK, STATUS, GC, VERSION/);
    });

    const invalid: [string, string, RegExp][] = [
      ['CNI_CONTAINERID', '-starts-with-dash', /CNI_CONTAINERID="-starts-with-dash": must match/],
      ['CNI_CONTAINERID', 'has space', /must match/],
      ['CNI_IFNAME', 'sixteen-chars-xx', /CNI_IFNAME="sixteen-chars-xx": must be at most 15 bytes/],
      ['CNI_IFNAME', '..', /must not be "\." or "\.\."/],
      ['CNI_IFNAME', 'eth/0', /must not contain/],
      ['CNI_NETNS', 'relative/ns', /CNI_NETNS="relative\/ns": must be an absolute path/],
      ['CNI_ARGS', 'A=1;novalue', /CNI_ARGS="A=1;novalue": "novalue" is not KEY=VALUE/],
    ];
    for (const [name, value, detail] of invalid) {
      it(`rejects ${name}=${JSON.stringify(value)} naming it`, () => {
        const e = rejectWith({ ...ADD_ENV, [name]: value }, baseConfig, CNI_ERR_INVALID_ENVIRONMENT);
        assert.equal(e.msg, `invalid environment variables ${name}`);
        assert.match(e.details, detail);
      });
    }

    it('reports every invalid variable in one error', () => {
      const e = rejectWith(
        { ...ADD_ENV, CNI_IFNAME: 'a:b', CNI_NETNS: 'x' },
        baseConfig,
        CNI_ERR_INVALID_ENVIRONMENT,
      );
      assert.equal(e.msg, 'invalid environment variables CNI_IFNAME, CNI_NETNS');
    });

    it('checks the environment before the configuration', () => {
      rejectWith({ CNI_COMMAND: 'ADD' }, Buffer.from('{not json'), CNI_ERR_INVALID_ENVIRONMENT);
    });
  });

  describe('decoding (code 6)', () => {
    for (const [what, body] of [
      ['malformed JSON', '{"cniVersion": "1.1.0",'],
      ['an empty stdin', ''],
      ['a JSON array', '[1, 2]'],
      ['a JSON string', '"trellis"'],
      ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d])],
    ] as const) {
      it(`rejects ${what}`, () => {
        const e = rejectWith(ADD_ENV, Buffer.from(body), CNI_ERR_DECODING_FAILURE);
        assert.equal(e.msg, 'failed to decode network configuration');
      });
    }
  });

  describe('version (code 1)', () => {
    for (const cniVersion of ['0.3.1', '0.1.0', '2.0.0', 'banana']) {
      it(`rejects cniVersion ${cniVersion}`, () => {
        const e = rejectWith(ADD_ENV, { ...baseConfig, cniVersion }, CNI_ERR_INCOMPATIBLE_VERSION);
        assert.match(e.details, /supported: 0\.4\.0, 1\.0\.0, 1\.1\.0/);
      });
    }

    it('rejects an unsupported version before looking at other fields', () => {
      rejectWith(ADD_ENV, { cniVersion: '0.3.1', type: 'bridge' }, CNI_ERR_INCOMPATIBLE_VERSION);
    });

    for (const command of ['STATUS', 'GC']) {
      it(`${command} needs a 1.1.0 configuration`, () => {
        const env = { CNI_COMMAND: command, CNI_PATH: '/opt/cni/bin' };
        const config = { ...baseConfig, cniVersion: '1.0.0', 'cni.dev/valid-attachments': [] };
        const e = rejectWith(env, config, CNI_ERR_INCOMPATIBLE_VERSION);
        assert.equal(e.details, `${command} needs cniVersion 1.1.0 or later (got 1.0.0)`);
      });
    }
  });

  describe('configuration (codes 2 and 7)', () => {
    const invalid: [string, Record<string, unknown>, string][] = [
      ['missing cniVersion', { name: 'n', type: 'trellis-cni' }, 'cniVersion: is required'],
      ['a numeric cniVersion', { ...baseConfig, cniVersion: 1 }, 'cniVersion: must be a string (got 1)'],
      ['missing name', { cniVersion: '1.1.0', type: 'trellis-cni' }, 'name: is required'],
      ['a bad name', { ...baseConfig, name: '-net' }, 'name: must match'],
      [
        'another plugin type',
        { ...baseConfig, type: 'bridge' },
        'type: must be one of trellis-cni (got "bridge")',
      ],
      ['an MTU too small', { ...baseConfig, mtu: 500 }, 'mtu: must be between 576 and 9000 (got 500)'],
      ['an MTU as text', { ...baseConfig, mtu: '1500' }, 'mtu: must be an integer (got "1500")'],
      ['a relative agentSocket', { ...baseConfig, agentSocket: 'cni.sock' }, 'agentSocket: must match ^/'],
      [
        'a wrong IPAM type',
        { ...baseConfig, ipam: { type: 'host-local' } },
        'ipam.type: must be one of trellis-ipam',
      ],
      ['a bad pool', { ...baseConfig, ipam: { ipv4Pools: ['Not A Pool'] } }, 'ipam.ipv4Pools[0]: must be'],
      [
        'no address family',
        { ...baseConfig, ipam: { assignIPv4: false } },
        'ipam: must assign at least one of IPv4 (assignIPv4) and IPv6 (assignIPv6)',
      ],
      ['a bad log level', { ...baseConfig, logLevel: 'loud' }, 'logLevel: must be one of trace, debug'],
      [
        'a bad prevResult address',
        { ...baseConfig, prevResult: { ips: [{ address: '10.0.0.300/24' }] } },
        'prevResult.ips[0].address: must be a CIDR',
      ],
    ];
    for (const [what, config, detail] of invalid) {
      it(`rejects ${what} with code 7 naming the field`, () => {
        const e = rejectWith(ADD_ENV, config, CNI_ERR_INVALID_NETWORK_CONFIG);
        assert.equal(e.msg, 'invalid network configuration');
        assert.ok(e.details.includes(detail), `details: ${e.details}`);
      });
    }

    it('rejects unknown fields with code 2 naming key and value', () => {
      const e = rejectWith(
        ADD_ENV,
        { ...baseConfig, ipMasq: true, ipam: { subnet: '10.0.0.0/8' } },
        CNI_ERR_UNSUPPORTED_FIELD,
      );
      assert.equal(e.details, 'ipMasq=true; ipam.subnet="10.0.0.0/8"');
    });

    it('CHECK requires prevResult', () => {
      const e = rejectWith({ ...ADD_ENV, CNI_COMMAND: 'CHECK' }, baseConfig, CNI_ERR_INVALID_NETWORK_CONFIG);
      assert.equal(e.details, 'prevResult: is required for CHECK');
    });

    it('GC requires cni.dev/valid-attachments and maps them', () => {
      const env = { CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' };
      const e = rejectWith(env, baseConfig, CNI_ERR_INVALID_NETWORK_CONFIG);
      assert.equal(e.details, 'cni.dev/valid-attachments: is required for GC');
      const req = parseCniRequest(
        env,
        stdin({ ...baseConfig, 'cni.dev/valid-attachments': [{ containerID: 'abc', ifname: 'eth0' }] }),
      );
      assert.ok(req.command === 'GC');
      assert.deepEqual(req.validAttachments, [{ containerId: 'abc', ifName: 'eth0' }]);
    });
  });

  describe('VERSION', () => {
    it('needs nothing but CNI_COMMAND and echoes the requested version', () => {
      assert.deepEqual(parseCniRequest({ CNI_COMMAND: 'VERSION' }, stdin({ cniVersion: '0.3.1' })), {
        command: 'VERSION',
        cniVersion: '0.3.1',
      });
      assert.deepEqual(parseCniRequest({ CNI_COMMAND: 'VERSION' }, Buffer.alloc(0)), {
        command: 'VERSION',
        cniVersion: '1.1.0',
      });
      assert.deepEqual(formatVersionReply('1.0.0'), {
        cniVersion: '1.0.0',
        supportedVersions: ['0.4.0', '1.0.0', '1.1.0'],
      });
    });
  });

  describe('results', () => {
    it('1.1.0 keeps every field', () => {
      assert.deepEqual(formatResult(richResult, '1.1.0'), { cniVersion: '1.1.0', ...richResult });
    });

    it('1.0.0 drops interface mtu/socketPath/pciID and route attributes', () => {
      assert.deepEqual(formatResult(richResult, '1.0.0'), {
        cniVersion: '1.0.0',
        interfaces: [
          { name: 'tr1a2b3c4d5e6', mac: '02:00:00:00:00:01' },
          { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/run/netns/cni-1' },
        ],
        ips: richResult.ips,
        routes: [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }, { dst: '::/0' }],
        dns: richResult.dns,
      });
    });

    it('0.4.0 adds the IP version', () => {
      const out = formatResult(richResult, '0.4.0');
      assert.deepEqual(out['ips'], [
        { version: '4', address: '10.244.1.7/32', gateway: '169.254.1.1', interface: 1 },
        { version: '6', address: 'fd00:10:244::7/128', interface: 1 },
      ]);
      assert.deepEqual(out['routes'], [{ dst: '0.0.0.0/0', gw: '169.254.1.1' }, { dst: '::/0' }]);
    });

    it('omits dns when there is none', () => {
      assert.equal('dns' in formatResult({ interfaces: [], ips: [], routes: [] }, '1.1.0'), false);
    });

    it('formats errors with the requested version', () => {
      assert.deepEqual(
        formatError(new CniError(7, 'invalid network configuration', 'mtu: too big'), '1.0.0'),
        {
          cniVersion: '1.0.0',
          code: 7,
          msg: 'invalid network configuration',
          details: 'mtu: too big',
        },
      );
    });

    it('round-trips through every version (property)', () => {
      fc.assert(
        fc.property(
          arbitraryResult,
          fc.constantFrom(...SUPPORTED_CNI_VERSIONS),
          (result, version: CniVersion) => {
            const wire = JSON.parse(JSON.stringify(formatResult(result, version)));
            const back = parseResult(wire, 'prevResult');
            assert.deepEqual(JSON.parse(JSON.stringify(formatResult(back, version))), wire);
            if (version === '1.1.0') assert.deepEqual(back, JSON.parse(JSON.stringify(result)));
          },
        ),
      );
    });
  });

  describe('helpers', () => {
    it('parses CNI_ARGS, keeping "=" inside values', () => {
      assert.deepEqual(parseCniArgs('A=1;;B=x=y;C='), { A: '1', B: 'x=y', C: '' });
    });

    it('reads the requested version leniently', () => {
      assert.equal(requestedCniVersion(stdin({ cniVersion: '0.4.0' })), '0.4.0');
      assert.equal(requestedCniVersion(Buffer.from('{oops')), '1.1.0');
      assert.equal(requestedCniVersion(stdin({ cniVersion: 4 })), '1.1.0');
    });

    it('never throws anything but CniError, whatever the input (property)', () => {
      const envVar = fc.constantFrom(
        'CNI_COMMAND',
        'CNI_CONTAINERID',
        'CNI_NETNS',
        'CNI_IFNAME',
        'CNI_ARGS',
        'CNI_PATH',
      );
      const envValue = fc.oneof(
        fc.constantFrom('ADD', 'DEL', 'CHECK', 'GC', 'STATUS', 'VERSION'),
        fc.string(),
      );
      const body = fc.oneof(
        fc.json().map((j) => Buffer.from(j)),
        fc.jsonValue().map((v) => stdin({ ...baseConfig, extra: v })),
        fc
          .record({ cniVersion: fc.constantFrom('1.1.0', '0.4.0'), name: fc.string(), mtu: fc.jsonValue() })
          .map(stdin),
        fc.uint8Array().map((a) => Buffer.from(a)),
      );
      fc.assert(
        fc.property(fc.dictionary(envVar, envValue), body, (env, input) => {
          try {
            parseCniRequest(env, input);
          } catch (e) {
            assert.ok(e instanceof CniError, String(e));
          }
        }),
      );
    });
  });
});

const octet = fc.integer({ min: 0, max: 255 });
const ipv4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
const ipv6 = fc
  .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
  .map((h) => h.map((x) => x.toString(16)).join(':'));
const uint = fc.integer({ min: 0, max: 0xffffffff });
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const withoutUndefined = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

const arbitraryResult: fc.Arbitrary<CniResult> = fc
  .record({
    interfaces: fc.array(
      fc
        .record({
          name: fc.stringMatching(/^[a-z][a-z0-9]{0,14}$/),
          mac: opt(fc.constant('02:42:ac:11:00:02')),
          mtu: opt(fc.integer({ min: 576, max: 9000 })),
          sandbox: opt(fc.constant('/run/netns/x')),
          socketPath: opt(fc.constant('/run/x.sock')),
          pciID: opt(fc.constant('0000:00:01.0')),
        })
        .map(withoutUndefined),
      { maxLength: 3 },
    ),
    ips: fc.array(
      fc
        .oneof(
          fc.record({
            address: fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([a, l]) => `${a}/${l}`),
            gateway: opt(ipv4),
          }),
          fc.record({
            address: fc.tuple(ipv6, fc.integer({ min: 0, max: 128 })).map(([a, l]) => `${a}/${l}`),
            gateway: opt(ipv6),
          }),
        )
        .chain((ip) =>
          fc.record({ interface: opt(fc.nat(2)) }).map((i) => withoutUndefined({ ...ip, ...i })),
        ),
      { maxLength: 3 },
    ),
    routes: fc.array(
      fc
        .record({
          dst: fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([a, l]) => `${a}/${l}`),
          gw: opt(ipv4),
          mtu: opt(uint),
          advmss: opt(uint),
          priority: opt(uint),
          table: opt(uint),
          scope: opt(fc.constantFrom(0, 253, 254)),
        })
        .map(withoutUndefined),
      { maxLength: 3 },
    ),
    dns: opt(
      fc
        .record({
          nameservers: opt(fc.array(ipv4, { maxLength: 2 })),
          domain: opt(fc.constant('cluster.local')),
          search: opt(fc.array(fc.constant('svc.cluster.local'), { maxLength: 2 })),
          options: opt(fc.array(fc.constant('ndots:5'), { maxLength: 1 })),
        })
        .map(withoutUndefined),
    ),
  })
  .map(withoutUndefined);
