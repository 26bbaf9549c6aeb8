import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { TandemError } from '@tandem/platform';
import { InvalidPublishError, LogUnavailableError, UnknownStreamError } from '../ingest-errors';

interface JsonResponse {
  status(code: number): { json(body: unknown): void };
  setHeader(name: string, value: string): void;
}

/** One JSON error shape for every failure: `{ statusCode, error, message, parameter? }`. */
@Catch()
export class IngestErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Ingest');

  catch(error: unknown, host: ArgumentsHost): void {
    sendError(host.switchToHttp().getResponse<JsonResponse>(), error, this.logger);
  }
}

export function sendError(res: JsonResponse, error: unknown, logger: Logger): void {
  const send = (statusCode: number, name: string, message: string, extra: Record<string, unknown> = {}) => res.status(statusCode).json({ statusCode, error: name, message, ...extra });
  if (error instanceof InvalidPublishError) return send(400, 'Bad Request', error.message, { parameter: error.parameter });
  if (error instanceof UnknownStreamError) return send(404, 'Not Found', error.message);
  if (error instanceof LogUnavailableError) {
    logger.warn(error.message);
    res.setHeader('Retry-After', String(error.retryAfterSeconds));
    return send(503, 'Service Unavailable', error.message);
  }
  if (error instanceof HttpException) {
    const body = error.getResponse();
    const message = typeof body === 'string' ? body : ((body as { message?: unknown }).message ?? error.message);
    return send(error.getStatus(), HTTP_ERRORS[error.getStatus()] ?? 'Error', Array.isArray(message) ? message.join('; ') : String(message));
  }
  if (error instanceof TandemError && error.retriable) {
    logger.warn(error.message);
    res.setHeader('Retry-After', '1');
    return send(503, 'Service Unavailable', error.message);
  }
  logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return send(500, 'Internal Server Error', 'internal error');
}

const HTTP_ERRORS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
};

/**
 * Express error middleware for what fails before Nest routes a request: the JSON body parser
 * (413 for a body over the limit, 400 for malformed JSON, 415 for an unsupported charset).
 */
export function bodyErrors(logger: Logger) {
  return (error: { type?: string; status?: number; message?: string; limit?: number; length?: number }, _req: unknown, res: JsonResponse, next: (e?: unknown) => void) => {
    if (error === null || typeof error !== 'object' || typeof error.type !== 'string') return next(error);
    const send = (statusCode: number, name: string, message: string, extra: Record<string, unknown> = {}) => res.status(statusCode).json({ statusCode, error: name, message, ...extra });
    switch (error.type) {
      case 'entity.too.large':
        return send(413, 'Payload Too Large', `request body${error.length === undefined ? '' : ` of ${error.length} bytes`} exceeds the limit of ${error.limit} bytes`);
      case 'entity.parse.failed':
        return send(400, 'Bad Request', `body: malformed JSON (${error.message})`, { parameter: 'body' });
      case 'encoding.unsupported':
      case 'charset.unsupported':
        return send(415, 'Unsupported Media Type', String(error.message));
      default:
        logger.warn(`request body: ${error.message}`);
        return send(error.status ?? 400, HTTP_ERRORS[error.status ?? 400] ?? 'Bad Request', String(error.message));
    }
  };
}
