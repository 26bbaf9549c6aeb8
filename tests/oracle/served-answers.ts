import type { AnyView } from '@tandem/transforms';
import { type QueryClient, queryClient, valuesFromProto } from '../../libs/serving/src/testing/query-grpc-client';
import type { PartitionBounds } from './oracle';


/** An answer other than 200 (or a series' 404). */
export class ServedError extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
    body: string,
  ) {
    super(`GET ${url}: ${status} ${body}`);
  }
}

export interface ServedPoint {
  readonly bucketStart: number;
  readonly values: Record<string, unknown>;
}

export interface ServedProvenance {
  readonly transformVersion: string;
  readonly codeTransformVersion: string;
  readonly batch: { readonly version: number; readonly cut: readonly { partition: number; offset: number }[] } | null;
  readonly speed: { readonly offsets: readonly { partition: number; offset: number }[] };
}

export interface ServedSeries {
  readonly points: readonly ServedPoint[];
  readonly provenance: ServedProvenance;
}

/**
 * The offsets a served answer covers, per partition: the batch version holds every offset
 * below its cut, the realtime rows every offset from the cut up to the speed layer's next
 * offset; read in one snapshot, so together exactly `[0, max(cut, next))`.
 */
export function coveredBounds(provenance: ServedProvenance): Map<number, number> {
  const bounds = new Map<number, number>();
  for (const { partition, offset } of provenance.batch?.cut ?? []) bounds.set(partition, Math.max(bounds.get(partition) ?? 0, offset));
  for (const { partition, offset } of provenance.speed.offsets) bounds.set(partition, Math.max(bounds.get(partition) ?? 0, offset));
  return bounds;
}

export function boundsText(bounds: PartitionBounds): string {
  return [...bounds].sort(([a], [b]) => a - b).map(([p, b]) => `${p}:${b}`).join(' ');
}

/** Serving's REST and gRPC answers, as the oracle compares them. */
export class ServedAnswers {
  private grpc: QueryClient | undefined;

  constructor(
    private readonly baseUrl: string,
    private readonly grpcAddress?: string,
  ) {}

  /** A key's series at the view's granularity; null when serving has no data for it (404). */
  async series(view: AnyView, key: string, from: number, to: number): Promise<ServedSeries | null> {
    const url = `${this.baseUrl}/v1/views/${view.name}/series?key=${encodeURIComponent(key)}&from=${from}&to=${to}`;
    const res = await fetch(url);
    if (res.status === 404) {
      await res.arrayBuffer();
      return null;
    }
    if (res.status !== 200) throw new ServedError(url, res.status, await res.text());
    return (await res.json()) as ServedSeries;
  }

  /** Every key with data in the range, by the top-N query over a count aggregate. */
  async keys(view: AnyView, aggregate: string, from: number, to: number): Promise<string[]> {
    const url = `${this.baseUrl}/v1/views/${view.name}/top?aggregate=${aggregate}&from=${from}&to=${to}&n=1000000`;
    const res = await fetch(url);
    if (res.status !== 200) throw new ServedError(url, res.status, await res.text());
    const body = (await res.json()) as { entries: { key: Record<string, string> }[] };
    return body.entries.map((e) => {
      const values = view.dimensions.map((d) => String(e.key[d]));
      return values.length === 1 ? values[0] : JSON.stringify(values);
    });
  }

  /** The same series over gRPC (TimeSeries), in the REST shape. */
  async seriesOverGrpc(view: AnyView, key: string, from: number, to: number): Promise<readonly ServedPoint[]> {
    if (!this.grpcAddress) throw new Error('no gRPC address');
    this.grpc ??= queryClient(this.grpcAddress);
    const values = view.decodeKey(key);
    const keyMap = Object.fromEntries(view.dimensions.map((d, i) => [d, values[i]]));
    const answer = await this.grpc.call<{ points: { bucket_start_ms: string; values: never }[] }>('TimeSeries', {
      view: view.name,
      key: keyMap,
      from_ms: String(from),
      to_ms: String(to),
    });
    return answer.points.map((p) => ({ bucketStart: Number(p.bucket_start_ms), values: valuesFromProto(p.values) }));
  }

  close(): void {
    this.grpc?.close();
  }
}
