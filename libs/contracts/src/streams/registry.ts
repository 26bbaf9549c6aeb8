import type { StreamContract } from '../events/stream-contract';
import { flights } from './flights';
import { httpRequests } from './http-requests';

/**
 * Every stream the platform knows, by name. Ingest resolves the stream of a publish request
 * here; a name that is not in this record is an `unknown-stream` rejection, never a new topic.
 */
export const streams = Object.freeze({
  http_requests: httpRequests,
  flights,
});

export type StreamName = keyof typeof streams;

export const streamNames: readonly StreamName[] = Object.freeze(Object.keys(streams) as StreamName[]);

export function isStreamName(name: string): name is StreamName {
  return Object.prototype.hasOwnProperty.call(streams, name);
}

/** Looks a stream up by name; throws, listing the known streams, when there is none. */
export function streamByName(name: string): StreamContract {
  // Erased to the schema-agnostic contract: callers validate first, then key the value.
  // (key/eventTime take a specific event type, so the widening needs the unknown step.)
  if (isStreamName(name)) return streams[name] as unknown as StreamContract;
  throw new Error(`unknown stream "${name}"; known streams: ${streamNames.join(', ')}`);
}
