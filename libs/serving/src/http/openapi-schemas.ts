import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

/**
 * OpenAPI schemas of the REST answers (query/query-model.ts in JSON Schema), for Swagger UI
 * and generated clients.
 */
const int = { type: 'integer' } as const;
const str = { type: 'string' } as const;

const partitionOffset: SchemaObject = { type: 'object', required: ['partition', 'offset'], properties: { partition: int, offset: int } };

const batch: SchemaObject = {
  type: 'object',
  nullable: true,
  description: 'The batch version read; null before the first batch run',
  properties: {
    version: int,
    runId: str,
    flippedAt: { type: 'string', format: 'date-time' },
    topic: str,
    cut: { type: 'array', items: partitionOffset, description: 'Per partition, the first offset not covered by the batch version' },
  },
};

export const provenanceSchema: SchemaObject = {
  type: 'object',
  description: 'Where the answer came from: batch(g) merged with the realtime rows at or past its cut, read in one snapshot',
  properties: {
    transformVersion: { ...str, description: 'Transform version of every row merged' },
    codeTransformVersion: { ...str, description: 'The view\'s transform version in this service; differs during a rollout' },
    batch,
    speed: {
      type: 'object',
      properties: {
        consumer: str,
        topic: str,
        offsets: { type: 'array', items: partitionOffset, description: 'Per partition, the next offset the speed layer will consume' },
        freshnessMs: { type: 'integer', nullable: true, description: 'Now minus the log time of the newest record consumed' },
      },
    },
    rows: { type: 'object', properties: { batch: int, speed: int }, description: 'Stored rows merged, per layer' },
    events: { type: 'object', properties: { batch: int, speed: int }, description: 'Events those rows summarise, per layer' },
    notes: { type: 'array', items: str },
  },
};

const values: SchemaObject = {
  type: 'object',
  additionalProperties: { nullable: true, oneOf: [{ type: 'number' }, { type: 'object' }] },
  description: 'Presented value per aggregate: a number, null (no value) or a structure (quantiles, top-k)',
  example: { flights: 42, delay_mean: 12.5, delay_p95: 61.2 },
};

const keyMap: SchemaObject = { type: 'object', additionalProperties: str, description: 'Dimension -> value', example: { origin: 'SFO' } };

export const valueAnswerSchema: SchemaObject = {
  type: 'object',
  properties: { view: str, key: keyMap, from: int, to: int, values, provenance: provenanceSchema },
};

export const seriesAnswerSchema: SchemaObject = {
  type: 'object',
  properties: {
    view: str,
    key: keyMap,
    granularity: { type: 'string', enum: ['minute', 'hour', 'day'] },
    from: int,
    to: int,
    points: { type: 'array', items: { type: 'object', properties: { bucketStart: { ...int, description: 'Bucket start, epoch ms' }, values } } },
    provenance: provenanceSchema,
  },
};

export const topAnswerSchema: SchemaObject = {
  type: 'object',
  properties: {
    view: str,
    aggregate: str,
    order: { type: 'string', enum: ['desc', 'asc'] },
    from: int,
    to: int,
    entries: { type: 'array', items: { type: 'object', properties: { key: keyMap, value: { type: 'number', nullable: true } } } },
    provenance: provenanceSchema,
  },
};

export const viewInfoSchema: SchemaObject = {
  type: 'object',
  properties: {
    name: str,
    description: str,
    stream: str,
    topic: str,
    transformVersion: str,
    granularity: { type: 'string', enum: ['minute', 'hour', 'day'] },
    dimensions: { type: 'array', items: str },
    aggregates: {
      type: 'array',
      items: { type: 'object', properties: { name: str, kind: str, params: { type: 'object' }, numeric: { type: 'boolean' } } },
    },
    batch,
    freshnessMs: { type: 'integer', nullable: true },
  },
};

export const viewListSchema: SchemaObject = { type: 'object', properties: { views: { type: 'array', items: viewInfoSchema } } };

export const errorSchema: SchemaObject = {
  type: 'object',
  properties: {
    statusCode: int,
    error: str,
    message: str,
    parameter: { ...str, description: 'The parameter at fault (400 only)' },
  },
  example: { statusCode: 400, error: 'Bad Request', message: 'from: "yesterday" is neither epoch milliseconds nor an ISO-8601 date-time', parameter: 'from' },
};
