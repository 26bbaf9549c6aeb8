import { KafkaLog } from '@tandem/platform';
import { quietLogger, type RestartablePostgres, withSchema } from '@tandem/testkit';
import { type AnyView, viewByName } from '@tandem/transforms';
import { sameJson } from './oracle-check';
import { type AcceptedEvent, readAcceptedEvents } from './accepted-log';
import { type ChaosTarget, Cluster } from './cluster';
import { type DatasetName, loadDataset } from './datasets';
import { ViewOracle } from './oracle';
import { CheckTally, cellsByKey } from './oracle-check';
import { EXACT_VIEWS } from './oracle-views';
import { createPrng, type Prng } from './prng';
import { REBUILD_PHASES, type RebuildOutcome, runRebuild } from './rebuild-process';
import { boundsText, coveredBounds, ServedAnswers, ServedError } from './served-answers';
import { sleep } from './service-process';

export interface ChaosRunOptions {
  readonly brokers: readonly string[];
  readonly databaseUrl: string;
  readonly dataset: DatasetName;
  /** Events sent (the first N of the dataset). */
  readonly events?: number;
  /** SIGKILLs to inject at least. */
  readonly faults: number;
  readonly seed: number;
  readonly chunkSize?: number;
  readonly batchIntervalMs?: number;
  /** Events per ingest request. */
  readonly eventsPerRequest?: number;
  /** Pause between requests, ms. */
  readonly pauseMs?: number;
  /** Share of events held back and sent last, hours after their neighbours (late events). */
  readonly lateShare?: number;
  /**
   * Kappa rebuilds (`tandem rebuild --from log`) launched during the run, one at a time at
   * random moments; about half of all but the first are SIGKILLed in a random phase (plan,
   * scan, write, flip). Default none.
   */
  readonly rebuilds?: number;
  /**
   * PostgreSQL restarts (a fast shutdown, a pause, a start on the same data and port) among the
   * SIGKILLs, each while no service restarts and no rebuild runs; needs `database`. Default none.
   */
  readonly databaseRestarts?: number;
  /** The cluster's PostgreSQL, when the run may restart it (never a server others share). */
  readonly database?: Pick<RestartablePostgres, 'stop' | 'start'>;
  readonly log?: (line: string) => void;
}

export interface ChaosRunReport {
  readonly dataset: DatasetName;
  readonly seed: number;
  readonly events: number;
  readonly lateEvents: number;
  readonly faults: Readonly<Record<ChaosTarget, number>>;
  readonly comparisons: { readonly midRun: number; readonly quiescent: number; readonly grpc: number };
  readonly midRunChecks: number;
  readonly mismatches: number;
  readonly mismatchExamples: readonly string[];
  readonly batchRuns: { readonly completed: number; readonly failed: number };
  readonly rebuilds: Readonly<Record<RebuildOutcome, number>>;
  /** PostgreSQL restarts, and the mid-run answers that were 503s during them (not compared). */
  readonly databaseRestarts: { readonly done: number; readonly unavailableAnswers: number };
  readonly conformity: { readonly compared: number; readonly notCompared: number; readonly mismatches: number };
  readonly durationMs: number;
  readonly workDir: string;
}

const TARGETS: readonly ChaosTarget[] = ['speed', 'archiver', 'batch'];

/**
 * The oracle run: the cluster in separate processes against the real broker and PostgreSQL,
 * a dataset sent through ingest while batch runs fire, and SIGKILLs of speed, the archiver
 * and batch at moments drawn from a seeded PRNG. Served answers are compared with the oracle
 * during the run (exact over the offsets each answer covers) and at quiescence (every key and
 * bucket of every view).
 */
export async function runChaos(options: ChaosRunOptions): Promise<ChaosRunReport> {
  const started = Date.now();
  const say = options.log ?? (() => undefined);
  const prng = createPrng(options.seed);
  const dataset = await loadDataset(options.dataset, options.events);
  const views = dataset.views.map((name) => viewByName(name));
  const { ordered, late } = withLateEvents(dataset.events, options.lateShare ?? 0.03, prng);
  const schema = await withSchema(options.databaseUrl, 'oracle');
  const topicPrefix = `${schema.schema}.`;
  const topic = `${topicPrefix}${dataset.stream.topic}`;
  const log = new KafkaLog({ brokers: options.brokers, clientId: 'oracle', logger: quietLogger });
  const admin = await log.admin();
  await admin.ensureTopic(topic, dataset.stream.partitions);
  await admin.close();
  const cluster = await Cluster.create({
    brokers: options.brokers,
    databaseUrl: options.databaseUrl,
    topicPrefix,
    schema: schema.schema,
    chunkSize: options.chunkSize ?? 50,
    views: dataset.views,
    batchIntervalMs: options.batchIntervalMs ?? 2_000,
  });
  say(`oracle: seed ${options.seed}, ${ordered.length} events (${late} late), ${options.faults} faults, logs in ${cluster.workDir}`);
  const served = new ServedAnswers(cluster.servingUrl, cluster.servingGrpc);
  const tally = new CheckTally();
  const midRun = { checks: 0, comparisons: 0 };
  const faults: Record<ChaosTarget, number> = { speed: 0, archiver: 0, batch: 0 };
  const rebuilds: Record<RebuildOutcome, number> = { completed: 0, killed: 0, failed: 0 };
  const databaseRestartsWanted = options.databaseRestarts ?? 0;
  if (databaseRestartsWanted > 0 && !options.database) throw new Error('databaseRestarts needs a database the run may restart');
  const outage = new OutageWindow();
  let databaseRestarts = 0;
  let databaseRestart: Promise<void> | undefined;
  const acked: AcceptedEvent[] = [];
  let ok = false;
  try {
    await cluster.start();
    const highest = new Map<string, Map<number, number>>();
    const restarts = new Map<ChaosTarget, Promise<void>>();
    const perRequest = options.eventsPerRequest ?? 100;
    const pauseMs = options.pauseMs ?? 150;
    let sent = 0;
    let nextFaultAt = Date.now() + prng.int(1_000, 4_000);
    const rebuildsWanted = options.rebuilds ?? 0;
    let rebuildsLaunched = 0;
    let rebuilding: Promise<void> | undefined;
    let nextRebuildAt = Date.now() + prng.int(3_000, 8_000);
    const kills = () => faults.speed + faults.archiver + faults.batch;
    while (sent < ordered.length || kills() < options.faults || rebuildsLaunched < rebuildsWanted || databaseRestarts < databaseRestartsWanted) {
      if (rebuilding === undefined && databaseRestart === undefined && rebuildsLaunched < rebuildsWanted && Date.now() >= nextRebuildAt) {
        const view = prng.pick(views).name;
        // The first rebuild of a run always finishes, so every run has one that flips.
        const kill = rebuildsLaunched > 0 && prng.chance(0.5) ? { phase: prng.pick(REBUILD_PHASES), afterMs: prng.int(0, 300) } : undefined;
        rebuildsLaunched++;
        say(`rebuild ${rebuildsLaunched}/${rebuildsWanted}: ${view} from the log${kill === undefined ? '' : `, SIGKILL ${kill.afterMs} ms into ${kill.phase}`} (sent ${sent})`);
        rebuilding = runRebuild({ view, env: cluster.commonEnv, logFile: `${cluster.workDir}/rebuild.log`, kill }).then(({ outcome, detail }) => {
          rebuilds[outcome]++;
          if (outcome === 'failed') tally.fail(view, detail, 'rebuild');
          say(detail);
          rebuilding = undefined;
          nextRebuildAt = Date.now() + prng.int(2_000, 8_000);
        });
      }
      if (sent < ordered.length) {
        const slice = ordered.slice(sent, sent + perRequest);
        acked.push(...(await publish(cluster.ingestUrl, dataset.stream.name, slice)));
        sent += slice.length;
      }
      if (Date.now() >= nextFaultAt && databaseRestart === undefined) {
        const restartDatabase =
          databaseRestarts < databaseRestartsWanted && restarts.size === 0 && rebuilding === undefined && (kills() >= options.faults || prng.chance(0.25));
        const target = restartDatabase ? undefined : prng.pick(TARGETS.filter((t) => !restarts.has(t)));
        if (restartDatabase) {
          const downMs = prng.int(500, 3_000);
          databaseRestarts++;
          say(`PostgreSQL restart ${databaseRestarts}/${databaseRestartsWanted}: down for ${downMs} ms (sent ${sent})`);
          outage.begin();
          databaseRestart = options
            .database!.stop()
            .then(() => sleep(downMs))
            .then(() => options.database!.start())
            .finally(() => {
              outage.end();
              databaseRestart = undefined;
            });
        } else if (target) {
          const service = cluster.services[target];
          await service.kill();
          faults[target]++;
          const downMs = prng.int(0, 1_500);
          say(`fault ${kills()}: SIGKILL ${target}, restart in ${downMs} ms (sent ${sent})`);
          restarts.set(
            target,
            sleep(downMs)
              .then(() => service.start())
              .finally(() => restarts.delete(target)),
          );
        }
        nextFaultAt = Date.now() + prng.int(1_500, 7_000);
      }
      if (prng.chance(0.25)) {
        const view = prng.pick(views);
        await checkSample(view, prng, acked, served, tally, highest, midRun, outage);
      }
      await sleep(pauseMs);
    }
    await Promise.all(restarts.values());
    await rebuilding;
    await databaseRestart;
    say(`sent ${sent} events; ${kills()} faults; waiting for quiescence`);

    // Quiescence, then every key and bucket of every view, twice: once the speed layer has
    // consumed everything, and once a batch cut covers every whole chunk.
    const log2 = await readAcceptedEvents(log, topic, dataset.stream);
    compareLogWithAcknowledged(log2, acked, tally);
    const ends = endsOf(log2, dataset.stream.partitions);
    await waitFor('the speed layer to consume every accepted event', 120_000, async () => {
      const { rows } = await schema.pool.query<{ partition: number; next_offset: string }>(`SELECT partition, next_offset FROM tandem_speed_offsets WHERE consumer = $1`, [cluster.speedGroup]);
      return [...ends].every(([p, end]) => rows.some((r) => r.partition === p && Number(r.next_offset) >= end));
    });
    const oracle = await ViewOracle.create(EXACT_VIEWS[views[0].name].table, log2);
    const quiescentBefore = tally.comparisons;
    try {
      await checkEverything(views, oracle, served, tally, 'quiescent, speed caught up');
      const chunk = options.chunkSize ?? 50;
      await waitFor('a batch cut covering every whole chunk', 180_000, async () => {
        const { rows } = await schema.pool.query<{ view: string; cut: Record<string, number> | { partition: number; offset: number }[] }>(`SELECT view, cut FROM tandem_batch_current`);
        if (rows.length < views.length) return false;
        return rows.every((r) => [...ends].every(([p, end]) => cutOf(r.cut, p) >= Math.floor(end / chunk) * chunk));
      });
      await checkEverything(views, oracle, served, tally, 'quiescent, batch caught up');
    } finally {
      oracle.close();
    }
    const quiescent = tally.comparisons - quiescentBefore;
    // gRPC answers the same as REST for a sample of keys.
    let grpc = 0;
    for (const view of views) {
      const range = rangeOf(log2);
      const keys = prng.sample(await served.keys(view, countAggregate(view), range.from, range.to), 10);
      for (const key of keys) {
        const rest = await served.series(view, key, range.from, range.to);
        const overGrpc = await served.seriesOverGrpc(view, key, range.from, range.to);
        grpc++;
        if (!sameJson(rest?.points ?? [], overGrpc)) tally.fail(view.name, `REST and gRPC series of ${key} differ`, 'quiescent');
      }
    }
    // Conformity in the loop: every completed batch run compared the speed layer's chunks with the lake's.
    const runs = await schema.pool.query<{ status: string; conformity: unknown }>(`SELECT status, conformity FROM tandem_batch_runs`);
    const conformity = { compared: 0, notCompared: 0, mismatches: 0 };
    for (const run of runs.rows) {
      for (const c of conformityEntries(run.conformity)) {
        conformity.compared += c.compared;
        conformity.notCompared += c.notCompared;
        conformity.mismatches += c.mismatches;
      }
    }
    if (conformity.mismatches > 0) tally.fail('*', `batch runs reported ${conformity.mismatches} drifting cells`, 'conformity');
    const died = cluster.unexpectedExits();
    for (const how of died) tally.fail('*', `a service died on its own: ${how}`, 'processes');
    const report: ChaosRunReport = {
      dataset: options.dataset,
      seed: options.seed,
      events: acked.length,
      lateEvents: late,
      faults,
      comparisons: { midRun: midRun.comparisons, quiescent, grpc },
      midRunChecks: midRun.checks,
      mismatches: tally.mismatches.length,
      mismatchExamples: tally.mismatches.slice(0, 20).map((m) => `${m.context}: ${m.view} ${m.key}@${m.bucket ?? '-'}: ${m.what}`),
      batchRuns: { completed: runs.rows.filter((r) => r.status === 'completed').length, failed: runs.rows.filter((r) => r.status === 'failed').length },
      rebuilds,
      databaseRestarts: { done: databaseRestarts, unavailableAnswers: outage.unavailableAnswers },
      conformity,
      durationMs: Date.now() - started,
      workDir: cluster.workDir,
    };
    ok = report.mismatches === 0;
    return report;
  } finally {
    served.close();
    // Logs of a failed run are kept for the investigation.
    await cluster.close({ keepWorkDir: !ok });
    await log.close();
    if (ok) await schema.drop();
    else await schema.pool.end().catch(() => undefined);
  }
}

/** Mid-run: a sample of keys, each answer exact over the offsets it covers, coverage never shrinking. */
async function checkSample(
  view: AnyView,
  prng: Prng,
  acked: readonly AcceptedEvent[],
  served: ServedAnswers,
  tally: CheckTally,
  highest: Map<string, Map<number, number>>,
  midRun: { checks: number; comparisons: number },
  outage: OutageWindow,
): Promise<void> {
  const oracle = await ViewOracle.create(EXACT_VIEWS[view.name].table, acked);
  try {
    const range = rangeOf(acked);
    const keys = prng.sample(await oracle.keys(view), 4);
    const before = tally.comparisons;
    for (const key of keys) {
      const askedAt = Date.now();
      let series: Awaited<ReturnType<ServedAnswers['series']>>;
      try {
        series = await served.series(view, key, range.from, range.to);
      } catch (error) {
        // While PostgreSQL restarts serving answers 503; at any other time a 503 is a failure.
        if (error instanceof ServedError && error.status === 503 && outage.overlaps(askedAt, Date.now())) {
          outage.unavailableAnswers++;
          continue;
        }
        throw error;
      }
      const bounds = series ? coveredBounds(series.provenance) : undefined;
      // A 404 carries no provenance: it must mean the key has no event in what serving covers,
      // which the next answer with provenance confirms; nothing to compare here.
      if (!series || !bounds) continue;
      const top = highest.get(view.name) ?? new Map<number, number>();
      for (const [p, b] of bounds) {
        if (b < (top.get(p) ?? 0)) tally.fail(view.name, `coverage of partition ${p} went back from ${top.get(p)} to ${b}`, 'mid-run');
        top.set(p, Math.max(b, top.get(p) ?? 0));
      }
      highest.set(view.name, top);
      for (const [p, b] of bounds) {
        const known = acked.filter((e) => e.partition === p).length;
        if (b > known) tally.fail(view.name, `serving covers partition ${p} up to ${b} but only ${known} events were acknowledged`, 'mid-run');
      }
      const expected = await oracle.expected(view, { bounds, keys: [key] });
      tally.compareKey(view, key, series.points, [...expected.values()], `mid-run (covers ${boundsText(bounds)})`);
    }
    midRun.checks++;
    midRun.comparisons += tally.comparisons - before;
  } finally {
    oracle.close();
  }
}

async function checkEverything(views: readonly AnyView[], oracle: ViewOracle, served: ServedAnswers, tally: CheckTally, context: string): Promise<void> {
  const range = rangeOf(oracle.events);
  for (const view of views) {
    const expected = cellsByKey(await oracle.expected(view));
    const servedKeys = new Set(await served.keys(view, countAggregate(view), range.from, range.to));
    for (const key of servedKeys) if (!expected.has(key)) tally.fail(view.name, `serving lists key ${key} that no accepted event has`, context);
    for (const [key, cells] of expected) {
      if (!servedKeys.has(key)) tally.fail(view.name, `serving does not list key ${key}`, context);
      const series = await served.series(view, key, range.from, range.to);
      tally.compareKey(view, key, series?.points ?? null, cells, context);
    }
  }
}

/** The log holds exactly what ingest acknowledged: same positions, same events. */
function compareLogWithAcknowledged(log: readonly AcceptedEvent[], acked: readonly AcceptedEvent[], tally: CheckTally): void {
  const byPosition = new Map(log.map((e) => [`${e.partition}:${e.offset}`, e]));
  if (log.length !== acked.length) tally.fail('*', `the log holds ${log.length} events, ingest acknowledged ${acked.length}`, 'log');
  for (const a of acked) {
    const l = byPosition.get(`${a.partition}:${a.offset}`);
    if (!l || !sameJson(l.event, a.event)) tally.fail('*', `acknowledged event at ${a.partition}:${a.offset} is not in the log as sent`, 'log');
  }
}

/** Posts events; every one must be accepted (the datasets hold valid events only). */
async function publish(ingestUrl: string, stream: string, events: readonly Record<string, unknown>[]): Promise<AcceptedEvent[]> {
  for (let attempt = 0; ; attempt++) {
    const res = await fetch(`${ingestUrl}/v1/streams/${stream}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(events) });
    const body = (await res.json()) as { results?: { accepted: boolean; partition: number; offset: number; reason?: string }[] };
    if (res.status === 200 && body.results) return body.results.map((r, i) => ({ partition: r.partition, offset: r.offset, event: events[i] }));
    // A 503 may have written some events: a retry could duplicate them, and the oracle reads
    // the log anyway, but the acknowledged set would no longer be exact. Fail loudly instead.
    throw new Error(`ingest answered ${res.status} (attempt ${attempt}): ${JSON.stringify(body).slice(0, 500)}`);
  }
}

/** When PostgreSQL was down (from its stop until its start resolved), for judging 503 answers. */
class OutageWindow {
  private readonly spans: { from: number; to: number }[] = [];
  private since: number | undefined;
  unavailableAnswers = 0;

  begin(): void {
    this.since = Date.now();
  }

  end(): void {
    if (this.since !== undefined) this.spans.push({ from: this.since, to: Date.now() });
    this.since = undefined;
  }

  /** Whether [from, to] meets an outage, past or in progress. */
  overlaps(from: number, to: number): boolean {
    if (this.since !== undefined && to >= this.since) return true;
    return this.spans.some((s) => from <= s.to && to >= s.from);
  }
}

/** Holds back a share of the events (chosen by the PRNG) and sends them last: late and out of order. */
function withLateEvents(events: readonly Record<string, unknown>[], share: number, prng: Prng): { ordered: Record<string, unknown>[]; late: number } {
  const onTime: Record<string, unknown>[] = [];
  const held: Record<string, unknown>[] = [];
  for (const e of events) (prng.chance(share) ? held : onTime).push(e);
  return { ordered: [...onTime, ...held], late: held.length };
}

function endsOf(events: readonly AcceptedEvent[], partitions: number): Map<number, number> {
  const ends = new Map<number, number>();
  for (let p = 0; p < partitions; p++) ends.set(p, 0);
  for (const e of events) ends.set(e.partition, Math.max(ends.get(e.partition) ?? 0, e.offset + 1));
  return ends;
}

function rangeOf(events: readonly AcceptedEvent[]): { from: number; to: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const e of events) {
    const ts = e.event['ts'] as number;
    if (ts < min) min = ts;
    if (ts > max) max = ts;
  }
  const day = 86_400_000;
  return { from: Math.floor(min / day) * day, to: (Math.floor(max / day) + 1) * day };
}

function countAggregate(view: AnyView): string {
  const count = view.aggregates.find((a) => a.kind === 'count');
  if (!count) throw new Error(`view ${view.name} has no count aggregate to list its keys by`);
  return count.name;
}

function cutOf(cut: unknown, partition: number): number {
  if (Array.isArray(cut)) return Number((cut as { partition: number; offset: number }[]).find((c) => c.partition === partition)?.offset ?? 0);
  const value = (cut as Record<string, unknown>)[String(partition)];
  return typeof value === 'number' ? value : Number(value ?? 0);
}

function conformityEntries(conformity: unknown): { compared: number; notCompared: number; mismatches: number }[] {
  if (!conformity) return [];
  const list = Array.isArray(conformity) ? conformity : Object.values(conformity as object);
  return list.map((c: { compared?: number; notCompared?: number; mismatches?: number }) => ({ compared: c.compared ?? 0, notCompared: c.notCompared ?? 0, mismatches: c.mismatches ?? 0 }));
}

async function waitFor(what: string, timeoutMs: number, condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(250);
  }
}
