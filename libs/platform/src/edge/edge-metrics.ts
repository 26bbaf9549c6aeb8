import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of a service's edge: requests and latency by route (or gRPC method) and
 * status. Each service owns its registry, so two services composed in one process (the
 * quickstart) do not collide on metric names.
 */
export interface MinimalRequest {
  readonly method: string;
  readonly baseUrl?: string;
  readonly route?: { readonly path?: unknown };
}

export interface MinimalResponse {
  readonly statusCode: number;
  once(event: 'finish' | 'close', listener: () => void): unknown;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class EdgeMetrics {
  readonly registry = new Registry();
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly httpSeconds: Histogram<'method' | 'route' | 'status'>;
  private readonly grpcRequests: Counter<'method' | 'code'>;
  private readonly grpcSeconds: Histogram<'method' | 'code'>;

  constructor(
    /** Metric name prefix, e.g. `tandem_serving`. */
    readonly prefix: string,
    options: { readonly defaultMetrics?: boolean } = {},
  ) {
    const registers = [this.registry];
    this.httpRequests = new Counter({ name: `${prefix}_http_requests_total`, help: 'HTTP requests by method, route and status', labelNames: ['method', 'route', 'status'], registers });
    this.httpSeconds = new Histogram({
      name: `${prefix}_http_request_duration_seconds`,
      help: 'HTTP request latency by method, route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.grpcRequests = new Counter({ name: `${prefix}_grpc_requests_total`, help: 'gRPC calls by method and status code', labelNames: ['method', 'code'], registers });
    this.grpcSeconds = new Histogram({
      name: `${prefix}_grpc_request_duration_seconds`,
      help: 'gRPC call latency by method and status code',
      labelNames: ['method', 'code'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: `${prefix}_` });
  }

  /** Express-style middleware timing every request; the route is the matched pattern, never the raw URL. */
  httpMiddleware(): (req: MinimalRequest, res: MinimalResponse, next: () => void) => void {
    return (req, res, next) => {
      const start = process.hrtime.bigint();
      res.once('finish', () => {
        const path = req.route?.path;
        this.observeHttp(req.method, typeof path === 'string' ? `${req.baseUrl ?? ''}${path}` : undefined, res.statusCode, Number(process.hrtime.bigint() - start) / 1e9);
      });
      next();
    };
  }

  /** One HTTP request; `route` is the matched pattern (e.g. `/v1/views/:view/value`), undefined when none matched. */
  observeHttp(method: string, route: string | undefined, status: number, seconds: number): void {
    // Unmatched URLs share one label: raw paths would let any client create series.
    const labels = { method, route: route ?? 'unmatched', status: String(status) };
    this.httpRequests.inc(labels);
    this.httpSeconds.observe(labels, seconds);
  }

  observeGrpc(method: string, code: string, seconds: number): void {
    this.grpcRequests.inc({ method, code });
    this.grpcSeconds.observe({ method, code }, seconds);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
