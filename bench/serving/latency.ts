/**
 * Latency samples (ms) of one load run and their summary. Samples are kept whole (a run of
 * ten seconds holds at most a few hundred thousand), so percentiles are exact, not binned.
 */
export interface LoadSummary {
  /** Latencies of the requests answered, ms, in ascending order. */
  readonly samples: readonly number[];
  readonly requests: number;
  readonly errors: number;
  readonly seconds: number;
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
}

export function summarise(samples: number[], errors: number, seconds: number): LoadSummary {
  samples.sort((a, b) => a - b);
  const at = (q: number) => (samples.length === 0 ? NaN : samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]);
  return { samples, requests: samples.length, errors, seconds, rps: samples.length / seconds, p50: at(0.5), p99: at(0.99) };
}

/** Runs `call` from `concurrency` loops for `seconds`, timing each call; `caller` numbers the loop. */
export async function closedLoop(call: (caller: number) => Promise<unknown>, concurrency: number, seconds: number): Promise<LoadSummary> {
  const samples: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, caller) => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await call(caller);
          samples.push(performance.now() - t);
        } catch {
          errors++;
        }
      }
    }),
  );
  return summarise(samples, errors, (performance.now() - started) / 1000);
}
