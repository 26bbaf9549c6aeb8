import { Body, Controller, Get, HttpCode, Inject, Param, Post, Res } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiParam, ApiResponse, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { InvalidPublishError } from '../ingest-errors';
import { IngestService } from '../ingest-service';
import type { PublishResult } from '../publish-model';
import { errorSchema, publishResultSchema, streamListSchema } from './openapi-schemas';

/** The REST face of IngestService. */
@ApiTags('streams')
@ApiSecurity('api-key')
@Controller('v1/streams')
export class StreamsController {
  constructor(@Inject(IngestService) private readonly ingest: IngestService) {}

  @Get()
  @ApiOperation({ summary: 'List the streams accepted, with their topics and event schemas (JSON Schema)' })
  @ApiOkResponse({ schema: streamListSchema })
  list() {
    return {
      streams: this.ingest.streams.map((s) => ({ name: s.name, version: s.version, topic: this.ingest.topicOf(s), partitions: s.partitions, schema: s.schema })),
    };
  }

  @Post(':stream/events')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Publish events: a JSON array of events of the stream',
    description:
      'Each event is checked against the stream\'s contract. Valid events are appended to the stream\'s topic (idempotent producer, acks=all) ' +
      'before the answer is sent; invalid ones are rejected with the reason (and written to the stream\'s dead-letter topic). ' +
      '200: all accepted; 207: some accepted, some rejected; 422: none accepted. In every 2xx answer, each accepted event is durably in Kafka.',
  })
  @ApiParam({ name: 'stream', example: 'flights' })
  @ApiBody({ schema: { type: 'array', items: { type: 'object' }, example: [{ ts: 978307260000, delay: 14, distance: 405, origin: 'SFO', destination: 'LAX' }] } })
  @ApiResponse({ status: 200, description: 'Every event accepted', schema: publishResultSchema })
  @ApiResponse({ status: 207, description: 'Some events rejected; see results', schema: publishResultSchema })
  @ApiResponse({ status: 422, description: 'Every event rejected; see results', schema: publishResultSchema })
  @ApiResponse({ status: 400, description: 'Malformed JSON, not an array, or no events', schema: errorSchema })
  @ApiResponse({ status: 404, description: 'Unknown stream', schema: errorSchema })
  @ApiResponse({ status: 413, description: 'Body larger than the limit', schema: errorSchema })
  @ApiResponse({ status: 503, description: 'Kafka did not acknowledge in time; retry after Retry-After seconds', schema: errorSchema })
  async publish(@Param('stream') stream: string, @Body() body: unknown, @Res({ passthrough: true }) res: { status(code: number): void }): Promise<PublishResult> {
    if (!Array.isArray(body)) {
      throw new InvalidPublishError('body', body === undefined ? 'expected a JSON array of events with Content-Type: application/json' : 'expected a JSON array of events');
    }
    const result = await this.ingest.publishValues(stream, body);
    res.status(result.rejected === 0 ? 200 : result.accepted === 0 ? 422 : 207);
    return result;
  }
}
