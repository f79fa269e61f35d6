import { readFileSync } from 'node:fs';
import path from 'node:path';
import Joi from 'joi';
import Ajv2020 from 'ajv/dist/2020';
import {
  bestAvailableBody,
  createEventBody,
  holdBody,
  multiHoldBody,
  pageQuery,
  updateEventBody,
} from '../http/schemas';
import { ROUTES } from '../http/routes';
import { ErrorCodes } from '../http/errors';
import { ClientMessageTypes, ServerMessageTypes } from '../ws/protocol';
import { buildOpenApiDocument } from './openapi';
import { buildAsyncApiDocument } from './asyncapi';
import { joiToJsonSchema } from './json-schema';

/**
 * The documents are built from the contracts: every route of the table has its entry, and the JSON
 * Schema made from a Joi schema accepts and refuses what Joi does (bar the limits JSON Schema cannot say,
 * which the cases below leave out).
 */
const ajv = new Ajv2020({ strict: false, validateFormats: false });

const cases: [string, Joi.Schema, unknown[], unknown[]][] = [
  [
    'createEventBody',
    createEventBody,
    [
      { name: 'A', totalSeats: 10 },
      { name: 'x'.repeat(200), description: '', totalSeats: 1000, maxSeatsPerUser: 1, seatsPerRow: 5 },
    ],
    [
      {},
      { name: '', totalSeats: 10 },
      { name: 'A', totalSeats: 9 },
      { name: 'A', totalSeats: 10.5 },
      { name: 'A', totalSeats: '10' },
      { name: 'A', totalSeats: 10, extra: 1 },
      { name: 'A\u0000', totalSeats: 10 },
      { name: 'A', totalSeats: 10, description: null },
    ],
  ],
  [
    'updateEventBody',
    updateEventBody,
    [{}, { status: 'inactive' }, { name: 'B', description: '' }],
    [{ status: 'closed' }, { totalSeats: 20 }, { name: '' }],
  ],
  [
    'holdBody',
    holdBody,
    [{}, { holdDuration: 10 }, { userId: '5f0c1b8e-2c4a-4f3e-9d8a-1b2c3d4e5f60', holdDuration: 3600 }],
    [{ holdDuration: 9 }, { holdDuration: 3601 }, { userId: 'nope' }, { holdDuration: null }],
  ],
  [
    'multiHoldBody',
    multiHoldBody,
    [{ seats: [1] }, { seats: [3, 1, 2], holdDuration: 60 }],
    [{}, { seats: [] }, { seats: [1, 1] }, { seats: [0] }, { seats: [1.5] }, { seats: ['1'] }],
  ],
  [
    'bestAvailableBody',
    bestAvailableBody,
    [{ count: 1 }, { count: 4, adjacent: false, holdDuration: 30 }],
    [{}, { count: 0 }, { count: 2, adjacent: 'yes' }],
  ],
  [
    'pageQuery',
    pageQuery,
    [{}, { limit: '1' }, { limit: '100', cursor: 'a-b_C' }],
    [{ limit: '0' }, { limit: '101' }, { limit: '01' }],
  ],
];

describe('joiToJsonSchema', () => {
  it.each(cases)('%s: the JSON Schema agrees with Joi', (_name, schema, valid, invalid) => {
    const validate = ajv.compile(joiToJsonSchema(schema));
    for (const value of valid) {
      expect(schema.validate(value).error).toBeUndefined();
      expect({ value, ok: validate(value) }).toEqual({ value, ok: true });
    }
    for (const value of invalid) {
      expect(schema.validate(value).error).toBeDefined();
      expect({ value, ok: validate(value) }).toEqual({ value, ok: false });
    }
  });

  it('names a limit taken from another field instead of dropping it silently', () => {
    const schema = joiToJsonSchema(createEventBody);
    const maxSeatsPerUser = (schema.properties as Record<string, Record<string, unknown>>).maxSeatsPerUser!;
    expect(maxSeatsPerUser.maximum).toBeUndefined();
    expect(maxSeatsPerUser.description).toContain('`totalSeats`');
  });

  it('refuses what it cannot express', () => {
    expect(() => joiToJsonSchema(Joi.string().email())).toThrow(/email/);
    expect(() => joiToJsonSchema(Joi.alternatives().try(Joi.string(), Joi.number()))).toThrow(/alternatives/);
  });
});

describe('buildOpenApiDocument', () => {
  const doc = buildOpenApiDocument({ version: 'test' }) as { paths: Record<string, Record<string, unknown>> };

  it('has an operation for every route of the table, and no REST operation the table lacks', () => {
    const documented = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/api/') && !path.endsWith('.json') && path !== '/api/docs')
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    const table = ROUTES.map((r) => `${r.method} ${r.path.replace(/:([a-zA-Z]+)/g, '{$1}')}`).sort();
    expect(documented).toEqual(table);
  });
});

describe('docs/api.md', () => {
  const text = readFileSync(path.resolve(__dirname, '../../../../docs/api.md'), 'utf8');

  it('lists every route of the table and every error code', () => {
    for (const route of ROUTES) expect(text).toContain(`\`${route.method} ${route.path}\``);
    for (const code of Object.values(ErrorCodes).filter((c) => c !== ErrorCodes.Internal))
      expect(text).toContain(`\`${code}\``);
  });

  it('names every WebSocket message', () => {
    for (const type of [...Object.values(ClientMessageTypes), ...Object.values(ServerMessageTypes)])
      expect(text).toContain(`'${type}'`);
  });
});

describe('buildAsyncApiDocument', () => {
  it('is plain JSON data', () => {
    const doc = buildAsyncApiDocument({ version: 'test' });
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });
});
