/**
 * Sketch accuracy on real data: the 10,000-line Apache access log in data/.
 * HyperLogLog must land within 3 standard errors (1.04 / sqrt(2^p)) of the exact distinct
 * count; DDSketch quantiles within the sketch's relative accuracy of the exact quantile.
 */
import { type HttpRequestEvent, parseApacheLogLine } from '@tandem/contracts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { aggregate } from '../algebra/aggregator';
import { distinct, hllStandardError } from './distinct';
import { quantiles } from './quantiles';

const lines = readFileSync(join(__dirname, '../../../../data/apache-access-log/apache_logs'), 'utf8').split('\n').filter(Boolean);
const events: HttpRequestEvent[] = [];
for (const line of lines) {
  const r = parseApacheLogLine(line);
  if (r.ok) events.push(r.event);
}

describe('HyperLogLog accuracy on the access log', () => {
  const cases: [string, (e: HttpRequestEvent) => string][] = [
    ['client IPs', (e) => e.ip],
    ['paths', (e) => e.path],
    ['(ip, path, user agent) triples', (e) => `${e.ip} ${e.path} ${e.userAgent}`],
  ];
  for (const [what, of] of cases) {
    for (const precision of [8, 10, 12, 14]) {
      it(`estimates distinct ${what} within 3 standard errors at precision ${precision}`, () => {
        const exact = new Set(events.map(of)).size;
        const agg = distinct(of, { precision });
        const estimate = agg.present(aggregate(agg, events));
        const relativeError = Math.abs(estimate - exact) / exact;
        expect(exact).toBeGreaterThan(500);
        expect(relativeError).toBeLessThanOrEqual(3 * hllStandardError(precision));
      });
    }
  }
});

describe('DDSketch accuracy on the access log', () => {
  const qs = [0.5, 0.9, 0.95, 0.99];
  for (const alpha of [0.01, 0.02, 0.05]) {
    it(`keeps response-size quantiles within relative accuracy ${alpha}`, () => {
      const sizes = events.map((e) => e.bytes).filter((b) => b > 0).sort((a, b) => a - b);
      const agg = quantiles((b: number) => b, qs, { relativeAccuracy: alpha });
      const value = agg.present(aggregate(agg, sizes));
      for (const q of qs) {
        // DDSketch answers for rank q * (n - 1); accept either neighbouring order statistic.
        const rank = q * (sizes.length - 1);
        const candidates = [sizes[Math.floor(rank)], sizes[Math.ceil(rank)]];
        const got = value[`p${q * 100}`]!;
        const within = candidates.some((exact) => Math.abs(got - exact) <= alpha * exact + 1e-9);
        expect({ q, got, candidates, within }).toEqual({ q, got, candidates, within: true });
      }
    });
  }
});

describe('DDSketch agrees with the reference implementation', () => {
  it('answers the same quantiles as @datadog/sketches-js on the access log and on signed values', () => {
    const { DDSketch } = require('@datadog/sketches-js') as typeof import('@datadog/sketches-js');
    const datasets = [events.map((e) => e.bytes), events.map((e, i) => (i % 3 === 0 ? -e.bytes : e.bytes) / 7)];
    for (const values of datasets) {
      for (const alpha of [0.01, 0.05]) {
        const reference = new DDSketch({ relativeAccuracy: alpha });
        values.forEach((v) => reference.accept(v));
        const agg = quantiles((v: number) => v, [0, 0.1, 0.5, 0.9, 0.95, 0.99, 1], { relativeAccuracy: alpha });
        const ours = agg.present(aggregate(agg, values));
        for (const q of [0, 0.1, 0.5, 0.9, 0.95, 0.99, 1]) {
          const want = reference.getValueAtQuantile(q);
          // Same bucket, same representative value (up to floating-point rounding of gamma^k).
          expect(Math.abs(ours[`p${q * 100}`]! - want)).toBeLessThanOrEqual(1e-9 * Math.abs(want));
        }
      }
    }
  });
});
