import { type INestApplication, Logger, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Gauge } from 'prom-client';
import { API_KEY_HEADER, ApiKeys } from '@tandem/platform';
import { EdgeMetrics } from '@tandem/platform';
import { FixedWindowLimiter, type RateLimit } from '@tandem/platform';
import { QueryGrpcServer } from './grpc/query-grpc-server';
import { ServingHttpModule } from './http/serving-http.module';
import type { QueryService } from './query-service';

/**
 * Starts the serving layer's edge: REST (with OpenAPI at /docs, /health and /metrics) and
 * gRPC (with reflection), both over one QueryService.
 *
 * REST runs Nest on Fastify: against Nest on Express with the same controller and an answer of
 * the same size it serves several times the requests per second at about a third of the median
 * latency (bench/serving/adapters.ts, figures in BENCHMARKS.md), and serving has a latency budget.
 */
export interface ServingEdgeOptions {
  readonly queries: QueryService;
  /** REST listener; port 0 picks a free port. */
  readonly http: { readonly port: number; readonly host?: string };
  /** gRPC listener; false for none. */
  readonly grpc: { readonly port: number; readonly host?: string } | false;
  /** Read keys; empty means open. */
  readonly apiKeys: readonly string[];
  readonly rateLimit: RateLimit;
  /** Nest's logger; false silences it (tests). */
  readonly logger?: LoggerService | false;
  /** Adds routes of the host process (e.g. the quickstart's dashboard) before listening. */
  readonly configure?: (app: NestFastifyApplication) => void;
}

export interface ServingEdge {
  readonly app: INestApplication;
  readonly httpUrl: string;
  readonly grpcPort: number | undefined;
  readonly metrics: EdgeMetrics;
  close(): Promise<void>;
}

export async function startServingEdge(options: ServingEdgeOptions): Promise<ServingEdge> {
  const apiKeys = new ApiKeys(options.apiKeys);
  const metrics = new EdgeMetrics('tandem_serving');
  registerCacheGauges(metrics, options.queries);
  const app = await NestFactory.create<NestFastifyApplication>(
    ServingHttpModule.register({ queries: options.queries, apiKeys, metrics, rateLimit: options.rateLimit }),
    // View names are short; a longer path parameter is an unknown view either way.
    new FastifyAdapter({ routerOptions: { maxParamLength: 200 } }),
    { logger: options.logger === undefined ? undefined : options.logger, abortOnError: false },
  );
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onResponse', async (request, reply) => {
      metrics.observeHttp(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
    });
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Tandem serving API')
      .setDescription(
        'Views merged from the batch and speed layers. Every answer carries provenance. The same queries are served over gRPC ' +
          '(tandem.v1.Query, libs/contracts/proto/query.proto, with server reflection).',
      )
      .setVersion('1')
      .addApiKey({ type: 'apiKey', in: 'header', name: API_KEY_HEADER }, 'api-key')
      .build(),
  );
  SwaggerModule.setup('docs', app, document);
  options.configure?.(app);

  let grpcServer: QueryGrpcServer | undefined;
  let grpcPort: number | undefined;
  try {
    await app.listen(options.http.port, options.http.host ?? '0.0.0.0');
    if (options.grpc !== false) {
      grpcServer = new QueryGrpcServer({
        queries: options.queries,
        apiKeys,
        limiter: new FixedWindowLimiter(options.rateLimit),
        metrics,
        logger: options.logger === false ? undefined : new Logger('ServingGrpc'),
      });
      grpcPort = await grpcServer.listen(options.grpc.port, options.grpc.host ?? '0.0.0.0');
    }
  } catch (error) {
    await grpcServer?.close(0);
    await app.close();
    throw error;
  }
  const address = app.getHttpServer().address() as { port: number };
  return {
    app,
    httpUrl: `http://127.0.0.1:${address.port}`,
    grpcPort,
    metrics,
    close: async () => {
      await grpcServer?.close();
      await app.close();
    },
  };
}

function registerCacheGauges(metrics: EdgeMetrics, queries: QueryService): void {
  const registers = [metrics.registry];
  new Gauge({
    name: 'tandem_serving_batch_cache_hits',
    help: 'Batch parts answered from the cache since start',
    registers,
    collect() {
      this.set(queries.cacheStats().hits);
    },
  });
  new Gauge({
    name: 'tandem_serving_batch_cache_misses',
    help: 'Batch parts read from PostgreSQL since start',
    registers,
    collect() {
      this.set(queries.cacheStats().misses);
    },
  });
  new Gauge({
    name: 'tandem_serving_closed_chunk_cache_hits',
    help: 'Realtime rows of closed chunks answered from the cache since start',
    registers,
    collect() {
      this.set(queries.closedChunkStats().hits);
    },
  });
  new Gauge({
    name: 'tandem_serving_settled_part_cache_hits',
    help: 'Folds of closed realtime chunks answered from the cache since start',
    registers,
    collect() {
      this.set(queries.settledPartStats().hits);
    },
  });
  new Gauge({
    name: 'tandem_serving_batch_cache_rows',
    help: 'Stored rows held by the batch part cache',
    registers,
    collect() {
      this.set(queries.cacheStats().weight);
    },
  });
}
