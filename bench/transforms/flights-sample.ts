/**
 * Writes the flights sample the evaluator's encoding tests replay (libs/transforms cannot
 * read Parquet): rows of data/flights-3m.parquet from a given row on, as gzip-compressed CSV
 * lines `minute,delay,distance,origin,destination`, minutes counted from the header's epoch.
 *   node tools/run.js bench/transforms/flights-sample.ts <first row> <rows> <out.csv.gz>
 */
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { readFlights } from '@tandem/platform';

async function main() {
  const [offset, limit, out] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
  if (!Number.isInteger(offset) || !Number.isInteger(limit) || !out) throw new Error('usage: flights-sample.ts <first row> <rows> <out.csv.gz>');
  const lines: string[] = [];
  let base: number | undefined;
  for await (const slice of readFlights({ offset, limit })) {
    for (const e of slice) {
      base ??= e.ts - (e.ts % 60_000);
      if ((e.ts - base) % 60_000 !== 0) throw new Error(`row at ${e.ts} is not on a whole minute`);
      lines.push(`${(e.ts - base) / 60_000},${e.delay},${e.distance},${e.origin},${e.destination}`);
    }
  }
  const text = `# flights-3m.parquet rows ${offset}..${offset + lines.length - 1}; epoch ms ${base}\n${lines.join('\n')}\n`;
  writeFileSync(out, gzipSync(text, { level: 9 }));
  console.log(`${lines.length} rows, ${text.length} bytes of text written to ${out}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
