import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { BatchCompleted, StreamContract } from '@tandem/contracts';
import {
  agreeOnSetting,
  CHUNK_SIZE_SETTING,
  type Cut,
  type Database,
  type LakeSettings,
  type LakeStorage,
  LakeManifest,
  type Log,
  TandemError,
} from '@tandem/platform';
import { type AnyView, selectViews } from '@tandem/transforms';
import type { Registry } from 'prom-client';
import type { ViewConformity } from '../conformity/conformity-check';
import { readRealtimeStarts, readSpeedProgress } from '../conformity/speed-progress';
import { cutAsStrings } from './batch-cut';
import { BatchCompletedPublisher } from './batch-completed-publisher';
import { type FlippedView, flip } from './batch-flip';
import { viewLake, entriesToRead, type LakeView, manifestLineage, type ManifestLineage, workerLakeSettings } from './batch-lake';
import { logLineage, type LogLineage, type LogView, viewLog } from './batch-log';
import { acquireBatchLock } from './batch-lock';
import { batchMetrics } from './batch-metrics';
import { planView, type RunMode, scanTaskOf, unionRanges, type ViewPlan } from './batch-plan';
import { readPointers } from './batch-pointer';
import { closeAbandonedRuns, nextGeneration, recordRunFailed, recordRunStart } from './batch-run-record';
import { tableExists } from './batch-view-table';
import { collectVersions, type DroppedVersion, startVersion, versionRecord } from './batch-versions';
import { scanLake } from './lake-scanner';
import { scanLog } from './log-scan';
import { ScanMerge, type ViewCells } from './scan-cells';
import { type WrittenVersion, writeCompactedVersion, writeDeltaVersion, writeFullVersion } from './version-writer';

/**
 * The batch recompute (DESIGN.md sections 4-6): choose a cut, read the lake snapshot, fold it
 * through the views, write a new version of each view, check the new chunks against the speed
 * layer, flip, publish BatchCompleted, collect old versions.
 *
 * Crash safety comes from the order of effects: nothing a reader sees changes before the flip
 * transaction, and everything a dead run leaves (a `running` run record, `building` version
 * tables) is recognised and cleaned by the next run, which holds the batch lock.
 */
export interface BatchLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface BatchRunnerOptions {
  readonly db: Database;
  readonly storage: LakeStorage;
  /** How worker threads open the lake (derived for a local lake; needed for Azure to use workers). */
  readonly lakeSettings?: LakeSettings;
  readonly views: readonly AnyView[];
  readonly chunkSize: number;
  /** The log to publish BatchCompleted to; without it nothing is published. */
  readonly log?: Log;
  readonly registry: Registry;
  /** Worker threads for the lake scan (0 or 1: in the calling thread). */
  readonly workers: number;
  /**
   * An incremental version is written as a delta over its base while the delta stays below
   * this share of the base's rows, and as a table of its own past it (default 0.2).
   */
  readonly compactRatio?: number;
  /** Ready versions kept per view, the current one included (default 3). */
  readonly retention?: number;
  /** Prefix of every topic name in this deployment (TANDEM_TOPIC_PREFIX; default none). */
  readonly topicPrefix?: string;
  /** Consumer id of the speed layer in tandem_speed_offsets (default `tandem-speed`). */
  readonly speedConsumer?: string;
  /**
   * Rows per worker below which the scan uses fewer workers (default 200,000): a worker
   * thread loads the workspace's modules before it reads a file, about a second or two.
   */
  readonly minRowsPerWorker?: number;
  /** Check each data file against its manifest entry's SHA-256 and size (default true). */
  readonly verifyFiles?: boolean;
  readonly logger?: BatchLogger;
  /** Called at points of a run where a crash must be harmless (tests inject failures here). */
  readonly hooks?: BatchRunHooks;
}

export interface BatchRunHooks {
  /** After a view's table has been filled, before the flip. */
  readonly afterWrite?: (view: string, table: string) => Promise<void> | void;
  /** Just before the flip transaction. */
  readonly beforeFlip?: () => Promise<void> | void;
}

export type BatchPhase = 'plan' | 'scan' | 'write' | 'flip' | 'publish' | 'collect' | 'done';

export interface BatchProgress {
  readonly phase: BatchPhase;
  readonly stream?: string;
  readonly view?: string;
  readonly files: number;
  readonly filesTotal: number;
  readonly records: number;
  readonly recordsTotal: number;
  readonly rowsWritten: number;
  readonly elapsedMs: number;
}

export interface BatchRunRequest {
  readonly mode?: RunMode;
  /** View names (default: all the runner's views). */
  readonly views?: readonly string[];
  readonly onProgress?: (progress: BatchProgress) => void;
  /** Wait for a running batch to finish instead of failing with BatchRunInProgressError. */
  readonly wait?: boolean;
  /**
   * Where the records come from (default the lake). `log`: a rebuild from the start of the
   * log (the Kappa path), always a full run, up to the log's end rather than the lake's.
   */
  readonly source?: RunSource;
}

export type RunSource = 'lake' | 'log';

export interface ViewRunSummary {
  readonly view: string;
  readonly transformVersion: string;
  readonly mode: RunMode;
  readonly reason?: string;
  /** Whether a new version was made current (false: nothing new, the current one stays). */
  readonly flipped: boolean;
  readonly batchVersion: number;
  readonly table: string;
  readonly cut: Cut;
  readonly previousCut: Cut;
  readonly recordsIn: number;
  readonly rows: number;
  readonly events: number;
  readonly cellsFromLake: number;
  readonly rowsCarried: number;
  /** How the new version is stored: a table of its own, or a delta over a base table. */
  readonly layout?: 'table' | 'delta';
  readonly conformity?: ViewConformity;
}

export interface BatchRunSummary {
  readonly runId: string;
  readonly generation: number;
  readonly mode: RunMode;
  readonly source: RunSource;
  readonly views: readonly ViewRunSummary[];
  readonly files: number;
  /** Log records the contract rejected (a rebuild from the log; the lake holds valid records only). */
  readonly rejected: number;
  readonly records: number;
  readonly workers: number;
  readonly timingsMs: Readonly<Record<string, number>>;
  readonly durationMs: number;
  /** Lake records read per second of the whole run. */
  readonly recordsPerSecond: number;
  readonly realtimeRowsDeleted: number;
  readonly published: boolean;
  readonly droppedVersions: readonly DroppedVersion[];
  readonly abandonedRuns: readonly string[];
}

export interface BatchRunner {
  run(request?: BatchRunRequest): Promise<BatchRunSummary>;
  close(): Promise<void>;
}

export function createBatchRunner(options: BatchRunnerOptions): BatchRunner {
  const chunkSize = options.chunkSize;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new TandemError(`chunk size must be a positive integer, got ${chunkSize}`);
  const retention = options.retention ?? 3;
  if (!Number.isInteger(retention) || retention < 1) throw new TandemError(`batch retention must be at least 1, got ${retention}`);
  if (options.views.length === 0) throw new TandemError('a batch runner needs at least one view');
  const compactRatio = options.compactRatio ?? 0.2;
  if (!(compactRatio >= 0)) throw new TandemError(`batch compact ratio must be a non-negative number, got ${compactRatio}`);
  const logger = options.logger ?? new Logger('BatchRunner');
  const metrics = batchMetrics(options.registry);
  const manifest = new LakeManifest(options.storage);
  const publisher = options.log ? new BatchCompletedPublisher(options.log) : undefined;
  const lakeSettings = workerLakeSettings(options.storage, options.lakeSettings);
  const pool = options.db.pool;
  let settingChecked = false;

  async function run(request: BatchRunRequest = {}): Promise<BatchRunSummary> {
    const source: RunSource = request.source ?? 'lake';
    const requested: RunMode = source === 'log' ? 'full' : (request.mode ?? 'incremental');
    if (source === 'log' && request.mode === 'incremental') throw new TandemError('a rebuild from the log is always a full run');
    if (source === 'log' && options.log === undefined) throw new TandemError('a rebuild from the log needs the log (KAFKA_BROKERS)');
    const views = selectViews(request.views ?? [], options.views);
    const started = performance.now();
    const timings: Record<string, number> = {};
    let phaseStart = started;
    const phaseDone = (name: string) => {
      const now = performance.now();
      timings[name] = Math.round(now - phaseStart);
      phaseStart = now;
    };
    const progress = { files: 0, filesTotal: 0, records: 0, recordsTotal: 0, rowsWritten: 0 };
    const report = (phase: BatchPhase, extra: { stream?: string; view?: string } = {}) =>
      request.onProgress?.({ phase, ...extra, ...progress, elapsedMs: Math.round(performance.now() - started) });

    if (!settingChecked) {
      await agreeOnSetting(options.db, CHUNK_SIZE_SETTING, String(chunkSize));
      settingChecked = true;
    }
    const lock = await acquireBatchLock(pool, { wait: request.wait });
    let runId: string | undefined;
    try {
      const abandonedRuns = await closeAbandonedRuns(pool);
      if (abandonedRuns.length > 0) logger.warn(`closed batch runs abandoned by a stopped process: ${abandonedRuns.join(', ')}`);
      const dropped = await collectVersions(pool, retention);
      const generation = await nextGeneration(pool);
      runId = `batch-${generation}-${randomBytes(4).toString('hex')}`;
      await recordRunStart(pool, runId, generation, requested);
      phaseDone('start');
      report('plan');

      // Plan every view, stream by stream (views of one stream share one scan).
      const pointers = await readPointers(pool);
      const byStream = new Map<string, { stream: StreamContract; views: AnyView[] }>();
      for (const v of views) {
        const entry = byStream.get(v.stream.name) ?? { stream: v.stream, views: [] };
        entry.views.push(v);
        byStream.set(v.stream.name, entry);
      }
      const plans: ViewPlan[] = [];
      const manifests: (ManifestLineage | LogLineage)[] = [];
      const scans: { stream: StreamContract; topic: string; plans: ViewPlan[]; files: ReturnType<typeof entriesToRead>; ranges: Map<number, readonly [number, number]> }[] = [];
      for (const { stream, views: streamViews } of byStream.values()) {
        const topic = `${options.topicPrefix ?? ''}${stream.topic}`;
        const lake = source === 'lake' ? await viewLake(manifest, stream) : await viewLog(options.log as Log, stream, topic);
        manifests.push(source === 'lake' ? manifestLineage(lake as LakeView) : logLineage(lake as LogView));
        const speedNext = await readSpeedProgress(pool, options.speedConsumer ?? 'tandem-speed', topic);
        const streamPlans: ViewPlan[] = [];
        for (const view of streamViews) {
          const pointer = pointers.get(view.name);
          const previousTableExists = pointer !== undefined && (await withClient((c) => tableExists(c, pointer.table)));
          const realtimeStarts = await readRealtimeStarts(pool, view.name, view.transformVersion, topic);
          const plan = planView({ view, topic, requested, pointer, previousTableExists, coverage: lake.coverage, speedNext, realtimeStarts, chunkSize });
          if (plan.held) logger.warn(plan.held);
          streamPlans.push(plan);
        }
        const active = streamPlans.filter((p) => p.changes);
        const ranges = unionRanges(active);
        const files = source === 'lake' ? entriesToRead((lake as LakeView).snapshot.entries, ranges) : [];
        plans.push(...streamPlans);
        scans.push({ stream, topic, plans: active, files, ranges });
        progress.filesTotal += files.length;
        progress.recordsTotal += source === 'lake' ? files.reduce((s, f) => s + f.rows, 0) : [...ranges.values()].reduce((s, [from, to]) => s + (to - from), 0);
      }
      phaseDone('plan');

      // Scan: each stream's needed files, sharded across worker threads.
      const cells = new Map<string, ViewCells>();
      let workersUsed = 0;
      let filesBefore = 0;
      let recordsBefore = 0;
      let rejected = 0;
      for (const s of scans) {
        if (s.plans.length === 0) continue;
        report('scan', { stream: s.stream.name });
        if (source === 'log') {
          const output = await scanLog({
            log: options.log as Log,
            topic: s.topic,
            contract: s.stream,
            views: s.plans.map((p) => p.view),
            tasks: s.plans.map(scanTaskOf),
            ranges: s.ranges,
            chunkSize,
            groupId: `tandem-rebuild-${runId}`,
            onProgress: (p) => {
              progress.records = recordsBefore + p.records;
              report('scan', { stream: s.stream.name });
            },
          });
          const merge = new ScanMerge(s.plans.map((p) => p.view));
          merge.addLive(output);
          rejected += output.rejected;
          recordsBefore += output.records + output.rejected;
          progress.records = recordsBefore;
          for (const c of merge.result()) cells.set(c.view.name, c);
          continue;
        }
        const result = await scanLake(
          {
            stream: s.stream.name,
            views: s.plans.map((p) => ({ name: p.view.name, transformVersion: p.view.transformVersion })),
            tasks: s.plans.map(scanTaskOf),
            chunkSize,
            files: s.files,
            verify: options.verifyFiles ?? true,
          },
          {
            contract: s.stream,
            storage: options.storage,
            lakeSettings,
            views: s.plans.map((p) => p.view),
            workers: options.workers,
            minRowsPerWorker: options.minRowsPerWorker ?? 200_000,
            onProgress: (p) => {
              progress.files = filesBefore + p.files;
              progress.records = recordsBefore + p.records;
              report('scan', { stream: s.stream.name });
            },
          },
        );
        workersUsed = Math.max(workersUsed, result.workers);
        filesBefore += result.merge.files;
        recordsBefore += result.merge.records;
        progress.files = filesBefore;
        progress.records = recordsBefore;
        for (const c of result.merge.result()) cells.set(c.view.name, c);
      }
      metrics.eventsScanned.inc(progress.records);
      phaseDone('scan');

      // Write a new version per view with something new. Two views at a time: PostgreSQL
      // parses one COPY while this process streams the other.
      const written = new Map<string, FlippedView>();
      const thisRun = runId;
      const rowsByView = new Map<string, number>();
      const writeView = async (plan: ViewPlan): Promise<void> => {
        const viewCells = cells.get(plan.view.name) as ViewCells;
        report('write', { view: plan.view.name });
        const onRows = (rows: number) => {
          rowsByView.set(plan.view.name, rows);
          progress.rowsWritten = [...rowsByView.values()].reduce((a, b) => a + b, 0);
          report('write', { view: plan.view.name });
        };
        const start = { view: plan.view.name, version: generation, transformVersion: plan.view.transformVersion, runId: thisRun, mode: plan.mode, cut: plan.cut };
        let version: WrittenVersion;
        let table: string;
        if (plan.mode === 'full') {
          table = (await startVersion(pool, { ...start, layout: 'table' })).table;
          version = await writeFullVersion(pool, table, viewCells, onRows);
        } else {
          // A delta over the previous version's base, unless the deltas since that base would
          // outgrow a share of it: then a table of its own, which later deltas start from.
          const previous = await versionRecord(pool, plan.previous?.table as string);
          const compact = previous.deltaRows + viewCells.cells.size > compactRatio * Math.max(1, previous.baseRows);
          const relations = await startVersion(pool, { ...start, layout: compact ? 'table' : 'delta', base: previous.base });
          table = relations.table;
          version = compact
            ? await writeCompactedVersion(pool, table, previous, viewCells, onRows)
            : await writeDeltaVersion(pool, relations, previous, viewCells, onRows);
        }
        rowsByView.set(plan.view.name, version.rows);
        await options.hooks?.afterWrite?.(plan.view.name, table);
        written.set(plan.view.name, {
          plan,
          cells: viewCells,
          written: version,
          pointer: { view: plan.view.name, transformVersion: plan.view.transformVersion, batchVersion: generation, table, topic: plan.topic, cut: plan.cut, runId: thisRun },
        });
      };
      const queue = plans.filter((p) => p.changes);
      const failures: unknown[] = [];
      const lanes = Array.from({ length: Math.min(2, queue.length) }, async () => {
        // Every lane finishes what it started even when another fails: the failure path must
        // not drop tables under a COPY still running.
        for (let plan = queue.shift(); plan !== undefined; plan = queue.shift()) {
          await writeView(plan).catch((error: unknown) => failures.push(error));
          if (failures.length > 0) return;
        }
      });
      await Promise.all(lanes);
      if (failures.length > 0) throw failures[0];
      const flipped = plans.flatMap((p) => written.get(p.view.name) ?? []);
      phaseDone('write');

      await options.hooks?.beforeFlip?.();
      report('flip');
      const runCut = cutOfRun(plans);
      const viewLineage = (conformity: readonly ViewConformity[]) =>
        Object.fromEntries(
          plans.map((p) => {
            const f = flipped.find((x) => x.plan === p);
            return [
              p.view.name,
              {
                mode: p.mode,
                reason: p.reason ?? null,
                flipped: f !== undefined,
                transformVersion: p.view.transformVersion,
                previousTransformVersion: p.previous?.transformVersion ?? null,
                previousBatchVersion: p.previous?.batchVersion ?? null,
                batchVersion: f ? generation : (p.previous?.batchVersion ?? null),
                table: f?.pointer.table ?? p.previous?.table ?? null,
                cut: p.cut,
                previousCut: p.previousCut,
                recordsIn: cells.get(p.view.name)?.records ?? 0,
                cellsFromLake: f?.written.cellsFromLake ?? 0,
                cellsMerged: f?.written.cellsMerged ?? 0,
                rowsCarried: f?.written.rowsCarried ?? 0,
                layout: f?.written.layout ?? null,
                deltaRows: f?.written.deltaRows ?? null,
                rowsOut: f?.written.rows ?? null,
                events: f?.written.events ?? null,
                conformity: conformity.find((c) => c.view === p.view.name) ?? null,
              },
            ];
          }),
        );
      const client = await pool.connect();
      let flipResult;
      try {
        flipResult = await flip(client, {
          runId,
          chunkSize,
          views: flipped,
          cut: runCut,
          lineage: (conformity) => ({
            source,
            manifests,
            rejected,
            views: viewLineage(conformity),
            files: progress.files,
            records: progress.records,
            workers: workersUsed,
            chunkSize,
            timingsMs: { ...timings, flip: Math.round(performance.now() - phaseStart) },
          }),
        });
      } finally {
        client.release();
      }
      phaseDone('flip');

      for (const c of flipResult.conformity) {
        metrics.driftCells.set({ view: c.view }, c.mismatches);
        metrics.conformityChunks.set({ view: c.view, result: 'compared' }, c.compared);
        metrics.conformityChunks.set({ view: c.view, result: 'not_compared' }, c.notCompared);
        if (c.mismatches > 0) {
          logger.error(
            `DRIFT: view ${c.view} (${c.transformVersion}): ${c.mismatches} cell(s) differ between the speed layer and the batch ` +
              `recompute of the same chunks (${c.compared} chunk(s) compared) in run ${runId}; examples: ${JSON.stringify(c.examples.slice(0, 3))}`,
          );
        }
      }
      for (const f of flipped) {
        metrics.viewRows.set({ view: f.pointer.view }, f.written.rows);
        metrics.viewVersion.set({ view: f.pointer.view }, f.pointer.batchVersion);
      }

      report('publish');
      let published = false;
      if (publisher) {
        const event: BatchCompleted = {
          type: 'BatchCompleted',
          runId,
          generation,
          mode: requested,
          views: flipped.map((f) => ({ view: f.pointer.view, transformVersion: f.pointer.transformVersion, batchVersion: f.pointer.batchVersion, rows: f.written.rows })),
          cut: Object.fromEntries(Object.entries(runCut).map(([topic, cut]) => [topic, cutAsStrings(cut)])),
          completedAt: new Date().toISOString(),
        };
        try {
          await publisher.publish(event);
          published = true;
        } catch (error) {
          logger.error(`batch run ${runId} completed, but publishing BatchCompleted failed: ${(error as Error).message}`);
        }
      }
      phaseDone('publish');

      report('collect');
      dropped.push(...(await collectVersions(pool, retention).catch((error: unknown) => {
        logger.warn(`collecting old batch versions failed (the next run retries): ${(error as Error).message}`);
        return [];
      })));
      phaseDone('collect');

      const durationMs = Math.round(performance.now() - started);
      metrics.runs.inc({ mode: requested, status: 'completed' });
      metrics.runDuration.observe({ mode: requested }, durationMs / 1000);
      metrics.lastSuccess.set(Date.now() / 1000);
      report('done');
      const summary: BatchRunSummary = {
        runId,
        generation,
        mode: requested,
        source,
        views: plans.map((p) => {
          const f = flipped.find((x) => x.plan === p);
          return {
            view: p.view.name,
            transformVersion: p.view.transformVersion,
            mode: p.mode,
            reason: p.reason,
            flipped: f !== undefined,
            batchVersion: f ? generation : (p.previous?.batchVersion ?? 0),
            table: f?.pointer.table ?? p.previous?.table ?? '',
            cut: p.cut,
            previousCut: p.previousCut,
            recordsIn: cells.get(p.view.name)?.records ?? 0,
            rows: f?.written.rows ?? 0,
            events: f?.written.events ?? 0,
            cellsFromLake: f?.written.cellsFromLake ?? 0,
            rowsCarried: f?.written.rowsCarried ?? 0,
            layout: f?.written.layout,
            conformity: flipResult.conformity.find((c) => c.view === p.view.name),
          };
        }),
        files: progress.files,
        records: progress.records,
        rejected,
        workers: workersUsed,
        timingsMs: timings,
        durationMs,
        recordsPerSecond: durationMs > 0 ? Math.round((progress.records * 1000) / durationMs) : 0,
        realtimeRowsDeleted: flipResult.realtimeRowsDeleted,
        published,
        droppedVersions: dropped,
        abandonedRuns,
      };
      logger.log(
        `batch run ${runId} (${source === 'log' ? 'rebuild from the log' : requested}) completed in ${durationMs} ms: ${progress.records} records from ${progress.files} files, ` +
          summary.views.map((v) => `${v.view} ${v.flipped ? `v${v.batchVersion} ${v.mode} ${v.rows} rows` : 'unchanged'}`).join('; '),
      );
      return summary;
    } catch (error) {
      metrics.runs.inc({ mode: requested, status: 'failed' });
      if (runId !== undefined) {
        logger.error(`batch run ${runId} failed: ${(error as Error).message}`);
        await recordRunFailed(pool, runId, (error as Error).message ?? String(error)).catch(() => undefined);
        // The versions this run started are dropped now (or by the next run, if this fails too).
        await collectVersions(pool, retention).catch(() => undefined);
      }
      throw error;
    } finally {
      await lock.release();
    }
  }

  async function withClient<T>(work: (client: import('pg').PoolClient) => Promise<T>): Promise<T> {
    const client = await pool.connect();
    try {
      return await work(client);
    } finally {
      client.release();
    }
  }

  return {
    run,
    close: async () => {
      await publisher?.close();
    },
  };
}

/** Per topic, the cut of the run: per partition the smallest cut of the topic's views. */
function cutOfRun(plans: readonly ViewPlan[]): Record<string, Cut> {
  const out: Record<string, Record<string, number>> = {};
  for (const p of plans) {
    const topic = (out[p.topic] ??= {});
    for (const [partition, offset] of Object.entries(p.cut)) {
      topic[partition] = partition in topic ? Math.min(topic[partition], offset) : offset;
    }
  }
  return out;
}
