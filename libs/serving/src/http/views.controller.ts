import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { InvalidQueryError } from '../query/query-errors';
import type { TimeSeriesAnswer, TopNAnswer, ValueAnswer, ViewInfo, ViewList } from '../query/query-model';
import { parseCount, parseGranularity, parseInstant, parseNameList, parseOrder, requireString } from '../query/query-params';
import { QueryService } from '../query-service';
import { errorSchema, seriesAnswerSchema, topAnswerSchema, valueAnswerSchema, viewInfoSchema, viewListSchema } from './openapi-schemas';

type QueryParams = Readonly<Record<string, unknown>>;

const INSTANT = 'Epoch milliseconds or ISO-8601 (e.g. 2001-01-01T00:00:00Z)';
const KEY = 'The key: the dimension value for a one-dimension view, a JSON array of values in dimension order otherwise (e.g. ["SFO","LAX"])';

/** The REST face of QueryService (GET /v1/views...). Parameters are parsed here, checked by the service. */
@ApiTags('views')
@ApiSecurity('api-key')
@ApiBadRequestResponse({ description: 'A parameter is missing or invalid; `parameter` names it', schema: errorSchema })
@Controller('v1/views')
export class ViewsController {
  constructor(@Inject(QueryService) private readonly queries: QueryService) {}

  @Get()
  @ApiOperation({ summary: 'List views: dimensions, granularity, aggregates, current batch version, freshness' })
  @ApiOkResponse({ schema: viewListSchema })
  list(@Query() params: QueryParams): Promise<ViewList> {
    allowOnly(params, []);
    return this.queries.listViews();
  }

  @Get(':view')
  @ApiOperation({ summary: 'Describe one view' })
  @ApiParam({ name: 'view', example: 'flights_per_origin_hour' })
  @ApiOkResponse({ schema: viewInfoSchema })
  @ApiNotFoundResponse({ description: 'Unknown view', schema: errorSchema })
  describe(@Param('view') view: string, @Query() params: QueryParams): Promise<ViewInfo> {
    allowOnly(params, []);
    return this.queries.describeView(view);
  }

  @Get(':view/series')
  @ApiOperation({ summary: 'Time series of one key over [from, to), at the view\'s granularity or rolled up to a coarser one' })
  @ApiParam({ name: 'view', example: 'flights_per_origin_hour' })
  @ApiQuery({ name: 'key', description: KEY, example: 'SFO' })
  @ApiQuery({ name: 'from', description: `Range start, inclusive. ${INSTANT}`, example: '2001-01-01T00:00:00Z' })
  @ApiQuery({ name: 'to', description: `Range end, exclusive. ${INSTANT}`, example: '2001-01-02T00:00:00Z' })
  @ApiQuery({ name: 'granularity', required: false, enum: ['minute', 'hour', 'day'], description: 'Roll up to this granularity (default: the view\'s)' })
  @ApiQuery({ name: 'aggregates', required: false, description: 'Comma-separated aggregates to return (default: all)', example: 'flights,delay_mean' })
  @ApiQuery({ name: 'layers', required: false, enum: ['true', 'false'], description: 'Also give, per point, the events each layer contributed' })
  @ApiOkResponse({ schema: seriesAnswerSchema })
  @ApiNotFoundResponse({ description: 'Unknown view, or no data for the key in the range', schema: errorSchema })
  series(@Param('view') view: string, @Query() params: QueryParams): Promise<TimeSeriesAnswer> {
    allowOnly(params, ['key', 'from', 'to', 'granularity', 'aggregates', 'layers']);
    const layers = params['layers'];
    if (layers !== undefined && layers !== 'true' && layers !== 'false') throw new InvalidQueryError('layers', 'must be true or false');
    return this.queries.timeSeries({
      layers: layers === 'true',
      view,
      key: requireString('key', params['key']),
      from: parseInstant('from', params['from']),
      to: parseInstant('to', params['to']),
      granularity: parseGranularity('granularity', params['granularity']),
      aggregates: parseNameList('aggregates', params['aggregates']),
    });
  }

  @Get(':view/top')
  @ApiOperation({ summary: 'Top-N keys by one numeric aggregate over [from, to)' })
  @ApiParam({ name: 'view', example: 'flights_per_origin_hour' })
  @ApiQuery({ name: 'aggregate', description: 'A numeric aggregate of the view', example: 'flights' })
  @ApiQuery({ name: 'from', description: `Range start, inclusive. ${INSTANT}`, example: '2001-01-01T00:00:00Z' })
  @ApiQuery({ name: 'to', description: `Range end, exclusive. ${INSTANT}`, example: '2001-01-02T00:00:00Z' })
  @ApiQuery({ name: 'n', required: false, description: 'How many keys (default 10)', example: 10 })
  @ApiQuery({ name: 'order', required: false, enum: ['desc', 'asc'], description: 'Largest first (default) or smallest first' })
  @ApiOkResponse({ schema: topAnswerSchema })
  @ApiNotFoundResponse({ description: 'Unknown view', schema: errorSchema })
  top(@Param('view') view: string, @Query() params: QueryParams): Promise<TopNAnswer> {
    allowOnly(params, ['aggregate', 'from', 'to', 'n', 'order']);
    return this.queries.topN({
      view,
      aggregate: requireString('aggregate', params['aggregate']),
      from: parseInstant('from', params['from']),
      to: parseInstant('to', params['to']),
      n: parseCount('n', params['n'], { min: 1, max: this.queries.maxTopN, fallback: 10 }),
      order: parseOrder('order', params['order']),
    });
  }

  @Get(':view/value')
  @ApiOperation({ summary: 'One merged value per aggregate for one key over [from, to)' })
  @ApiParam({ name: 'view', example: 'flights_per_origin_hour' })
  @ApiQuery({ name: 'key', description: KEY, example: 'SFO' })
  @ApiQuery({ name: 'from', description: `Range start, inclusive. ${INSTANT}`, example: '2001-01-01T00:00:00Z' })
  @ApiQuery({ name: 'to', description: `Range end, exclusive. ${INSTANT}`, example: '2001-01-02T00:00:00Z' })
  @ApiQuery({ name: 'aggregates', required: false, description: 'Comma-separated aggregates to return (default: all)' })
  @ApiOkResponse({ schema: valueAnswerSchema })
  @ApiNotFoundResponse({ description: 'Unknown view, or no data for the key in the range', schema: errorSchema })
  value(@Param('view') view: string, @Query() params: QueryParams): Promise<ValueAnswer> {
    allowOnly(params, ['key', 'from', 'to', 'aggregates']);
    return this.queries.value({
      view,
      key: requireString('key', params['key']),
      from: parseInstant('from', params['from']),
      to: parseInstant('to', params['to']),
      aggregates: parseNameList('aggregates', params['aggregates']),
    });
  }
}

/** A misspelt parameter (e.g. `form=`) is an error, not silently ignored. */
function allowOnly(params: QueryParams, allowed: readonly string[]): void {
  for (const name of Object.keys(params)) {
    if (!allowed.includes(name)) {
      throw new InvalidQueryError(name.slice(0, 60), `unknown parameter${allowed.length > 0 ? `; this query takes ${allowed.join(', ')}` : ''}`);
    }
  }
}
