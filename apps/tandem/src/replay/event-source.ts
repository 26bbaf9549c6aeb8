import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parseApacheLogLine } from '@tandem/contracts';
import { flightsRowCount, readFlights } from '@tandem/platform';

/**
 * Events read from a file for `tandem replay`, in file order. A record the file itself
 * cannot give as an event (a line that is not JSON, an access-log line that does not parse)
 * comes out as `unreadable` with its line number and why, so the replay reports it instead of
 * stopping; whether an event is valid for its stream is ingest's to say.
 */
export type ReplayFormat = 'jsonl' | 'json' | 'apache' | 'flights-parquet';

export type SourceItem = { readonly event: unknown; readonly at: number } | { readonly unreadable: string; readonly at: number };

export interface EventSource {
  /** How far through the file a position is, for progress: bytes or rows. */
  readonly total: number;
  readonly unit: 'bytes' | 'rows';
  /** Items with the progress position after each. */
  items(): AsyncGenerator<SourceItem & { readonly position: number }>;
}

export const REPLAY_FORMATS: readonly ReplayFormat[] = ['jsonl', 'json', 'apache', 'flights-parquet'];

/** The format a file's name suggests; an access log is anything else read for http_requests. */
export function formatOf(file: string, stream: string): ReplayFormat {
  if (/\.(jsonl|ndjson)$/i.test(file)) return 'jsonl';
  if (/\.json$/i.test(file)) return 'json';
  if (/\.parquet$/i.test(file)) return 'flights-parquet';
  if (stream === 'http_requests') return 'apache';
  throw new Error(`cannot tell the format of ${file}; give --format (${REPLAY_FORMATS.join(', ')})`);
}

export async function openEventSource(file: string, format: ReplayFormat): Promise<EventSource> {
  if (format === 'flights-parquet') {
    const total = await flightsRowCount(file);
    return {
      total,
      unit: 'rows',
      async *items() {
        let at = 0;
        for await (const batch of readFlights({ path: file, batchSize: 10_000 })) {
          for (const event of batch) yield { event, at: ++at, position: at };
        }
      },
    };
  }
  const { size } = await stat(file);
  if (format === 'json') {
    return {
      total: size,
      unit: 'bytes',
      async *items() {
        const text = await import('node:fs/promises').then((fs) => fs.readFile(file, 'utf8'));
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (error) {
          yield { unreadable: `not JSON: ${(error as Error).message}`, at: 1, position: size };
          return;
        }
        if (!Array.isArray(parsed)) {
          yield { unreadable: 'a .json file must hold one array of events (use .jsonl for one event per line)', at: 1, position: size };
          return;
        }
        for (let i = 0; i < parsed.length; i++) yield { event: parsed[i], at: i + 1, position: Math.round((size * (i + 1)) / parsed.length) };
      },
    };
  }
  return {
    total: size,
    unit: 'bytes',
    async *items() {
      const input = createReadStream(file);
      const lines = createInterface({ input, crlfDelay: Infinity });
      let at = 0;
      for await (const line of lines) {
        at++;
        const position = input.bytesRead;
        if (line.trim() === '') continue;
        if (format === 'apache') {
          const parsed = parseApacheLogLine(line);
          yield parsed.ok ? { event: parsed.event, at, position } : { unreadable: `access log: ${parsed.reason} (${parsed.detail})`, at, position };
          continue;
        }
        try {
          yield { event: JSON.parse(line), at, position };
        } catch (error) {
          yield { unreadable: `not JSON: ${(error as Error).message}`, at, position };
        }
      }
    },
  };
}
