/**
 * Offset chunks (DESIGN.md section 4): the batch/speed split is by log position. Offsets of a
 * partition are grouped into chunks of `chunkSize`; the speed layer keys its rows by chunk,
 * and a batch cut is always a chunk boundary, so "the rows at or above the cut" is exact.
 *
 * The chunk size is a deployment-wide constant (setting `TANDEM_CHUNK_SIZE`, recorded in
 * PostgreSQL on first start, checked by every service with `agreeOnSetting`).
 */
export const DEFAULT_CHUNK_SIZE = 10_000;
export const CHUNK_SIZE_SETTING = 'chunk_size';

export const chunkOf = (offset: number, chunkSize: number): number => Math.floor(offset / chunkSize);

/** First offset of a chunk. */
export const chunkStart = (chunk: number, chunkSize: number): number => chunk * chunkSize;

/** Largest chunk boundary at or below `offset`. */
export const floorToChunk = (offset: number, chunkSize: number): number => offset - (offset % chunkSize);

/** A cut: per partition, the first offset NOT covered by the batch view (a chunk boundary). */
export type Cut = Readonly<Record<string, number>>;
