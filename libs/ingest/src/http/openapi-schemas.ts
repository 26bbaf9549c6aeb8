import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/** OpenAPI schemas of the ingest answers (publish-model.ts in JSON Schema). */
export const publishResultSchema: SchemaObject = {
  type: 'object',
  properties: {
    stream: { type: 'string' },
    accepted: { type: 'integer' },
    rejected: { type: 'integer' },
    results: {
      type: 'array',
      description: 'One result per event, in request order',
      items: {
        type: 'object',
        properties: {
          index: { type: 'integer' },
          accepted: { type: 'boolean' },
          partition: { type: 'integer', description: 'When accepted: the partition written' },
          offset: { type: 'integer', description: 'When accepted: the offset written' },
          reason: { type: 'string', enum: ['malformed-json', 'schema-violation', 'oversized', 'decode-error'], description: 'When rejected' },
          detail: { type: 'string', description: 'When rejected: what is wrong, naming the fields' },
        },
      },
    },
  },
  example: {
    stream: 'flights',
    accepted: 1,
    rejected: 1,
    results: [
      { index: 0, accepted: true, partition: 2, offset: 1841 },
      { index: 1, accepted: false, reason: 'schema-violation', detail: 'flights v1: /delay: Expected integer' },
    ],
  },
};

export const streamListSchema: SchemaObject = {
  type: 'object',
  properties: {
    streams: {
      type: 'array',
      items: {
        type: 'object',
        properties: { name: { type: 'string' }, version: { type: 'integer' }, topic: { type: 'string' }, partitions: { type: 'integer' }, schema: { type: 'object' } },
      },
    },
  },
};

export const errorSchema: SchemaObject = {
  type: 'object',
  properties: { statusCode: { type: 'integer' }, error: { type: 'string' }, message: { type: 'string' }, parameter: { type: 'string' } },
};
