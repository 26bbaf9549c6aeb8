import { type INestApplication, Logger, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { API_KEY_HEADER, ApiKeys } from '@tandem/platform';
import { EdgeMetrics } from '@tandem/platform';
import { FixedWindowLimiter, type RateLimit } from '@tandem/platform';
import { IngestGrpcServer } from './grpc/ingest-grpc-server';
import { bodyErrors } from './http/ingest-error.filter';
import { IngestHttpModule } from './http/ingest-http.module';
import type { IngestService } from './ingest-service';

/**
 * Starts the ingest edge: REST (POST /v1/streams/{stream}/events, OpenAPI at /docs, /health,
 * /metrics) and gRPC (Publish, PublishStream, with reflection) over one IngestService.
 */
export interface IngestEdgeOptions {
  readonly ingest: IngestService;
  readonly metrics: EdgeMetrics;
  readonly http: { readonly port: number; readonly host?: string };
  readonly grpc: { readonly port: number; readonly host?: string } | false;
  /** Write keys; empty means open. */
  readonly apiKeys: readonly string[];
  readonly rateLimit: RateLimit;
  /** Largest request body (REST) or message (gRPC), bytes. */
  readonly maxBodyBytes: number;
  readonly logger?: LoggerService | false;
}

export interface IngestEdge {
  readonly app: INestApplication;
  readonly httpUrl: string;
  readonly grpcPort: number | undefined;
  close(): Promise<void>;
}

export async function startIngestEdge(options: IngestEdgeOptions): Promise<IngestEdge> {
  const apiKeys = new ApiKeys(options.apiKeys);
  const { metrics } = options;
  const app = await NestFactory.create<NestExpressApplication>(IngestHttpModule.register({ ingest: options.ingest, apiKeys, metrics, rateLimit: options.rateLimit }), {
    logger: options.logger === undefined ? undefined : options.logger,
    bodyParser: false,
    abortOnError: false,
  });
  const express = app.getHttpAdapter().getInstance() as { set(name: string, value: unknown): void; disable(name: string): void };
  express.disable('x-powered-by');
  express.set('etag', false);
  app.use(metrics.httpMiddleware());
  app.useBodyParser('json', { limit: options.maxBodyBytes });
  app.use(bodyErrors(new Logger('Ingest')));
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Tandem ingest API')
      .setDescription('Publish events of a registered stream. The same API is served over gRPC (tandem.v1.Ingest, libs/contracts/proto/ingest.proto, with server reflection).')
      .setVersion('1')
      .addApiKey({ type: 'apiKey', in: 'header', name: API_KEY_HEADER }, 'api-key')
      .build(),
  );
  SwaggerModule.setup('docs', app, document);

  let grpcServer: IngestGrpcServer | undefined;
  let grpcPort: number | undefined;
  try {
    await app.listen(options.http.port, options.http.host ?? '0.0.0.0');
    if (options.grpc !== false) {
      grpcServer = new IngestGrpcServer({
        ingest: options.ingest,
        apiKeys,
        limiter: new FixedWindowLimiter(options.rateLimit),
        metrics,
        maxMessageBytes: options.maxBodyBytes,
        logger: options.logger === false ? undefined : new Logger('IngestGrpc'),
      });
      grpcPort = await grpcServer.listen(options.grpc.port, options.grpc.host ?? '0.0.0.0');
    }
  } catch (error) {
    await grpcServer?.close(0);
    await app.close();
    throw error;
  }
  options.ingest.start();
  const address = app.getHttpServer().address() as { port: number };
  return {
    app,
    httpUrl: `http://127.0.0.1:${address.port}`,
    grpcPort,
    close: async () => {
      await grpcServer?.close();
      await app.close();
    },
  };
}
