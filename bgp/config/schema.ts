// JSON Schema of the standalone config file (YAML). ajv checks shape and ranges; semantic
// checks (checks.ts) follow with the same field-path style.
import type { JsonSchema } from '../../src/resources/schema.js';
import { asNumberSchema, holdTimeSchema, ipAddressSchema } from '../../src/resources/schema.js';

const communityConditions = (pattern: string, example: string): JsonSchema => ({
  type: 'array',
  items: { type: 'string', pattern, description: example },
});
const communityList = (pattern: string, example: string): JsonSchema => ({
  ...communityConditions(pattern, example),
  default: [],
});
const STANDARD = '^[0-9]+:[0-9]+$';
const LARGE = '^[0-9]+:[0-9]+:[0-9]+$';
const prefixSchema: JsonSchema = { type: 'string', format: 'cidr' };
const u32: JsonSchema = { type: 'integer', minimum: 0, maximum: 0xffffffff };

const policySchema: JsonSchema = {
  type: 'object',
  properties: {
    defaultAction: { type: 'string', enum: ['accept', 'reject'], default: 'accept' },
    statements: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        required: ['action'],
        properties: {
          match: {
            type: 'object',
            default: {},
            properties: {
              prefixes: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['prefix'],
                  properties: {
                    prefix: prefixSchema,
                    ge: { type: 'integer', minimum: 0, maximum: 128 },
                    le: { type: 'integer', minimum: 0, maximum: 128 },
                  },
                },
              },
              // No default: an absent list is no condition, an empty one would match no route.
              communities: communityConditions(STANDARD, '65000:100'),
            },
          },
          action: { type: 'string', enum: ['accept', 'reject'] },
          set: {
            type: 'object',
            properties: {
              addCommunities: communityList(STANDARD, '65000:100'),
              addLargeCommunities: communityList(LARGE, '65000:1:2'),
              localPref: u32,
              med: u32,
            },
          },
        },
      },
    },
  },
};

export const speakerConfigSchema: JsonSchema = {
  type: 'object',
  required: ['routerId', 'localAs'],
  properties: {
    routerId: { type: 'string', format: 'ipv4', description: 'BGP identifier, dotted IPv4.' },
    localAs: asNumberSchema('Our AS number.'),
    listen: {
      type: 'object',
      default: {},
      properties: {
        address: { ...ipAddressSchema('Listen address.'), default: '::' },
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 179, description: '0: no listener.' },
      },
    },
    clusterId: { type: 'string', format: 'ipv4', description: 'Route reflector cluster id.' },
    gracefulRestartTime: { type: 'integer', minimum: 0, maximum: 4095, default: 120 },
    peers: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        required: ['address', 'as'],
        properties: {
          name: { type: 'string', minLength: 1 },
          address: ipAddressSchema('Peer address.'),
          port: { type: 'integer', minimum: 1, maximum: 65535, default: 179 },
          as: asNumberSchema('Peer AS number.'),
          passive: { type: 'boolean', default: false },
          password: { type: 'string', minLength: 1, maxLength: 80 },
          sourceAddress: ipAddressSchema('Local address to connect from.'),
          holdTime: holdTimeSchema('Proposed hold time, seconds.', 90),
          keepaliveTime: { type: 'integer', minimum: 0, maximum: 21845, default: 30 },
          gracefulRestart: {
            type: 'object',
            default: {},
            properties: {
              enabled: { type: 'boolean', default: true },
              restartTime: { type: 'integer', minimum: 0, maximum: 4095, default: 120 },
            },
          },
          nextHop: { type: 'string', enum: ['auto', 'self', 'keep'], default: 'auto' },
          routeReflectorClient: { type: 'boolean', default: false },
          families: {
            type: 'array',
            minItems: 1,
            items: { type: 'string', enum: ['ipv4', 'ipv6'] },
          },
          importPolicy: { type: 'string', minLength: 1 },
          exportPolicy: { type: 'string', minLength: 1 },
        },
      },
    },
    announcements: {
      type: 'array',
      default: [],
      items: {
        type: 'object',
        required: ['prefix'],
        properties: {
          prefix: prefixSchema,
          communities: communityList(STANDARD, '65000:100'),
          largeCommunities: communityList(LARGE, '65000:1:2'),
          med: u32,
        },
      },
    },
    policies: { type: 'object', default: {}, additionalProperties: policySchema },
    kernel: {
      type: 'object',
      default: {},
      properties: {
        enabled: { type: 'boolean', default: true },
        table: { type: 'integer', minimum: 1, maximum: 0xffffffff, default: 254 },
        metric: { type: 'integer', minimum: 0, maximum: 0xffffffff, default: 20 },
        // BIRD's kernel protocol re-scans every 60 s by default ("scan time") for the same reason.
        resyncInterval: { type: 'integer', minimum: 0, maximum: 86_400, default: 60 },
      },
    },
    controlSocket: { type: 'string', minLength: 1 },
  },
};
