// One Nest app, one route returning an answer the size and shape of a serving value answer,
// on the HTTP adapter named by argv[2] (express or fastify). Started by adapters.ts.
import 'reflect-metadata';
import { Controller, Get, Module, Param, Query } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';

const answer = {
  view: 'flights_per_origin_hour',
  key: { origin: 'ORD' },
  from: 978307200000,
  to: 978393600000,
  values: { delay_max: 209, delay_mean: 91.63533333333334, delay_min: -30, delay_p95: 198.36848598125056, destinations: 10, flights: 1500 },
  provenance: {
    transformVersion: 'v1-6727b83fc9b8',
    codeTransformVersion: 'v1-6727b83fc9b8',
    batch: { version: 1, runId: 'run-1', flippedAt: '2026-11-26T22:57:14.497Z', topic: 'tandem.flights.v1', cut: [{ partition: 0, offset: 2000 }, { partition: 1, offset: 1000 }] },
    speed: { consumer: 'tandem-speed', topic: 'tandem.flights.v1', offsets: [{ partition: 0, offset: 4000 }, { partition: 1, offset: 3000 }], freshnessMs: 11946 },
    rows: { batch: 24, speed: 38 },
    events: { batch: 980, speed: 520 },
    notes: [],
  },
};

@Controller('v1/views')
class AnswerController {
  @Get(':view/value')
  value(@Param('view') view: string, @Query() query: Record<string, unknown>) {
    // A turn of the event loop, as a query waiting on PostgreSQL takes.
    return new Promise((resolve) => setImmediate(() => resolve({ ...answer, view, query })));
  }
}

@Module({ controllers: [AnswerController] })
class AnswerModule {}

async function main(): Promise<void> {
  const adapter = process.argv[2] === 'fastify' ? new FastifyAdapter() : new ExpressAdapter();
  const app = await NestFactory.create(AnswerModule, adapter, { logger: false });
  await app.listen(0, '127.0.0.1');
  process.send!({ port: (app.getHttpServer().address() as { port: number }).port });
}

void main();
