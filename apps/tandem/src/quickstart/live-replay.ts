import type { FlightEvent } from '@tandem/contracts';
import type { IngestService } from '@tandem/ingest';
import { readFlights } from '@tandem/platform';

/**
 * Replays flights-3m as a live stream on an accelerated clock: the simulated clock starts at
 * the first event's time and runs `rate` times faster than the wall clock; every tick, the
 * events whose time has come are published through ingest (validated like any producer's).
 *
 * Resumable: `startAt` is the number of events already in the log (the replay is the only
 * producer in the quickstart), so a restart neither repeats nor skips an event.
 */
export interface LiveReplayOptions {
  readonly ingest: IngestService;
  /** Simulated milliseconds per wall-clock millisecond (3600 = one hour per second). */
  readonly rate: number;
  /** Events already replayed (skipped on start). */
  readonly startAt: number;
  /** Stop after this many events in all (default: the whole dataset). */
  readonly limit?: number;
  readonly tickMs?: number;
  readonly onError?: (error: Error) => void;
}

export interface LiveReplayStatus {
  readonly published: number;
  readonly rejected: number;
  /** Simulated now, epoch ms (null before the first event). */
  readonly simulatedNow: number | null;
  /** Event time of the last event published, epoch ms (null before the first). */
  readonly lastEventTime: number | null;
  readonly done: boolean;
}

export interface LiveReplay {
  status(): LiveReplayStatus;
  stop(): Promise<void>;
}

export function startLiveReplay(options: LiveReplayOptions): LiveReplay {
  const tickMs = options.tickMs ?? 100;
  let published = options.startAt;
  let rejected = 0;
  let simulatedNow: number | null = null;
  let lastEventTime: number | null = null;
  let done = false;
  let stopping = false;

  const loop = async () => {
    const source = readFlights({ offset: options.startAt, limit: options.limit === undefined ? undefined : Math.max(0, options.limit - options.startAt), batchSize: 20_000 });
    let pending: FlightEvent[] = [];
    let clockStart: { wall: number; sim: number } | undefined;
    for await (const batch of source) {
      pending = pending.concat(batch);
      while (pending.length > 0 && !stopping) {
        clockStart ??= { wall: Date.now(), sim: pending[0].ts };
        simulatedNow = clockStart.sim + (Date.now() - clockStart.wall) * options.rate;
        let due = 0;
        while (due < pending.length && pending[due].ts <= simulatedNow) due++;
        if (due === 0) {
          await sleep(tickMs);
          continue;
        }
        // Publish in bounded requests, as a producer would.
        for (let i = 0; i < due && !stopping; i += 5_000) {
          const slice = pending.slice(i, Math.min(due, i + 5_000));
          const result = await options.ingest.publishValues('flights', slice);
          published += result.accepted;
          lastEventTime = slice[slice.length - 1].ts;
          rejected += result.rejected;
        }
        pending = pending.slice(due);
      }
      if (stopping) return;
    }
    done = true;
  };
  const running = loop().catch((error: Error) => {
    if (!stopping) options.onError?.(error);
  });

  return {
    status: () => ({ published, rejected, simulatedNow, lastEventTime, done }),
    stop: async () => {
      stopping = true;
      await running;
    },
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
