/**
 * A per-client request limit over fixed windows, for the gRPC edge (REST uses Nest's
 * throttler with the same limit and window). Memory is bounded: windows of clients not seen
 * in the current window are dropped when it rolls over.
 */
export interface RateLimit {
  /** Requests per client per window; 0 disables limiting. */
  readonly limit: number;
  readonly windowMs: number;
}

export class FixedWindowLimiter {
  private windowStart = 0;
  private counts = new Map<string, number>();

  constructor(
    private readonly options: RateLimit,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.options.limit > 0;
  }

  /** Counts one request; returns the ms until the client may retry, or 0 when allowed. */
  take(client: string): number {
    if (this.options.limit <= 0) return 0;
    const now = this.now();
    if (now - this.windowStart >= this.options.windowMs) {
      this.windowStart = now - ((now - this.windowStart) % this.options.windowMs);
      this.counts = new Map();
    }
    const n = (this.counts.get(client) ?? 0) + 1;
    this.counts.set(client, n);
    return n > this.options.limit ? Math.max(1, this.windowStart + this.options.windowMs - now) : 0;
  }
}
