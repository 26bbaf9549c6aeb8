import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ImpossibleStateError, TandemError } from '@tandem/platform';
import { InvalidQueryError, QueryError } from '../query/query-errors';

/**
 * One JSON error shape for every failure: `{ statusCode, error, message, parameter? }`.
 * The caller's faults (400, 404) say what to fix; an impossible state is a loud 500 with its
 * message, logged; a database outage is a 503 with Retry-After; anything else is a 500
 * whose details stay in the log.
 */
@Catch()
export class ServingErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Serving');

  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  catch(error: unknown, host: ArgumentsHost): void {
    // Through the adapter, so the filter works on Fastify and Express alike.
    const adapter = this.adapterHost.httpAdapter;
    const res = host.switchToHttp().getResponse<unknown>();
    const send = (statusCode: number, error: string, message: string, extra: Record<string, unknown> = {}) => adapter.reply(res, { statusCode, error, message, ...extra }, statusCode);
    if (error instanceof QueryError) {
      if (error instanceof InvalidQueryError) return send(400, 'Bad Request', error.message, { parameter: error.parameter });
      return send(error.code === 'not-found' ? 404 : 400, error.code === 'not-found' ? 'Not Found' : 'Bad Request', error.message);
    }
    if (error instanceof HttpException) {
      const body = error.getResponse();
      const message = typeof body === 'string' ? body : ((body as { message?: unknown }).message ?? error.message);
      return send(error.getStatus(), httpError(error.getStatus()), Array.isArray(message) ? message.join('; ') : String(message));
    }
    if (error instanceof ImpossibleStateError) {
      this.logger.error(error.message);
      return send(500, 'Internal Server Error', `${error.name}: ${error.message}`);
    }
    if (error instanceof TandemError && error.retriable) {
      this.logger.warn(error.message);
      adapter.setHeader(res, 'Retry-After', '1');
      return send(503, 'Service Unavailable', error.message);
    }
    this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    return send(500, 'Internal Server Error', 'internal error');
  }
}

function httpError(status: number): string {
  const names: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 413: 'Payload Too Large', 429: 'Too Many Requests', 503: 'Service Unavailable' };
  return names[status] ?? (status >= 500 ? 'Internal Server Error' : 'Error');
}
