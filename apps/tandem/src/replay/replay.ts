import type { EventSource } from './event-source';

/**
 * Sends a file's events through ingest's REST API in requests of `batch` events, in file
 * order, at most `rate` events a second. Ingest validates each event against its contract
 * and answers per event; the replay tallies accepted and rejected events and keeps the first
 * reasons. Lines the file itself cannot give as events are tallied as unreadable.
 *
 * A 503 (Kafka did not acknowledge in time) stops the replay: the events of that request
 * may or may not be in the log, so retrying could duplicate them. The error says how many
 * file records were acknowledged before it, which `--skip` resumes after.
 */
export interface ReplayOptions {
  readonly ingestUrl: string;
  readonly stream: string;
  readonly apiKey?: string;
  readonly batch: number;
  /** Events per second at most (0: as fast as ingest answers). */
  readonly rate: number;
  /** File records (events and unreadable lines) to pass over first. */
  readonly skip: number;
  /** Events to send at most. */
  readonly limit?: number;
  readonly onProgress?: (progress: ReplayProgress) => void;
}

export interface ReplayProgress {
  readonly position: number;
  readonly total: number;
  readonly sent: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly unreadable: number;
}

export interface ReplaySummary extends ReplayProgress {
  /** File records handled (skipped ones included): `--skip` with this resumes after them. */
  readonly records: number;
  readonly elapsedMs: number;
  /** The first problems: file record number and reason. */
  readonly problems: readonly string[];
}

export class ReplayStoppedError extends Error {}

const MAX_PROBLEMS = 10;

interface IngestAnswer {
  readonly results?: readonly { readonly accepted: boolean; readonly reason?: string; readonly detail?: string }[];
  readonly message?: string | string[];
}

export async function replay(source: EventSource, options: ReplayOptions): Promise<ReplaySummary> {
  const started = Date.now();
  const url = `${options.ingestUrl.replace(/\/+$/, '')}/v1/streams/${encodeURIComponent(options.stream)}/events`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.apiKey) headers['x-api-key'] = options.apiKey;
  const tally = { position: 0, total: source.total, sent: 0, accepted: 0, rejected: 0, unreadable: 0 };
  const problems: string[] = [];
  const problem = (at: number, why: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(`record ${at}: ${why}`);
  };
  let records = 0;
  let pending: { event: unknown; at: number; record: number }[] = [];
  let pendingPosition = 0;

  // Every record before the request's first one was handled: resuming after them repeats nothing acknowledged.
  const resumeHint = () => {
    const done = pending[0].record - 1;
    return `the ${done} records before this request were handled (resume with --skip ${done})`;
  };

  const flush = async () => {
    if (pending.length === 0) return;
    if (options.rate > 0) {
      const due = started + ((tally.sent + pending.length) * 1000) / options.rate;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(pending.map((p) => p.event)) });
    } catch (error) {
      throw new ReplayStoppedError(`ingest at ${options.ingestUrl} did not answer (${(error as Error).message}); ${resumeHint()}`);
    }
    const body = (await res.json().catch(() => ({}))) as IngestAnswer;
    if ((res.status === 200 || res.status === 207 || res.status === 422) && body.results?.length === pending.length) {
      body.results.forEach((r, i) => {
        if (r.accepted) tally.accepted++;
        else {
          tally.rejected++;
          problem(pending[i].at, `${r.reason}${r.detail ? `: ${r.detail}` : ''}`);
        }
      });
      tally.sent += pending.length;
      tally.position = pendingPosition;
      pending = [];
      options.onProgress?.({ ...tally });
      return;
    }
    const message = Array.isArray(body.message) ? body.message.join('; ') : (body.message ?? '');
    throw new ReplayStoppedError(`ingest answered ${res.status}${message ? `: ${message}` : ''}; ${resumeHint()}`);
  };

  for await (const item of source.items()) {
    if (options.limit !== undefined && tally.sent + pending.length >= options.limit) break;
    records++;
    if (records <= options.skip) continue;
    if ('unreadable' in item) {
      tally.unreadable++;
      problem(item.at, item.unreadable);
      continue;
    }
    pending.push({ event: item.event, at: item.at, record: records });
    pendingPosition = item.position;
    if (pending.length >= options.batch) await flush();
  }
  await flush();
  tally.position = source.total;
  options.onProgress?.({ ...tally });
  return { ...tally, records, elapsedMs: Date.now() - started, problems };
}
