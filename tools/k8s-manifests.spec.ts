import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { TObject } from '@sinclair/typebox';
import { BATCH_SETTINGS, loadBatchConfig } from '@tandem/batch';
import { INGEST_SETTINGS, loadIngestConfig } from '@tandem/ingest';
import { loadServingConfig, SERVING_SETTINGS } from '@tandem/serving';
import { loadSpeedConfig, SPEED_SETTINGS } from '@tandem/speed';
import { parseAllDocuments } from 'yaml';

/**
 * The Kubernetes manifests as a cluster would run them: each overlay built (base resources,
 * the overlay's JSON patches, its generated Secret), then every container's environment —
 * the shared ConfigMap, the Secret, its own `env` — checked with the settings validation its
 * service runs at start-up. A setting no service knows (a typo, a renamed variable) fails.
 */
type Doc = { kind: string; metadata: { name?: string; generateName?: string }; [k: string]: unknown };
type Container = { name: string; args: string[]; env?: { name: string; value: string }[]; ports?: { name: string; containerPort: number }[] };

const K8S = path.resolve(__dirname, '..', 'k8s');
const load = (file: string): Doc[] =>
  parseAllDocuments(readFileSync(path.join(K8S, file), 'utf8'))
    .map((d) => d.toJSON() as Doc)
    .filter((d) => d !== null);

/** Secret keys managed outside the repository in production (see the production overlay). */
const PRODUCTION_SECRETS: Record<string, string> = {
  DATABASE_URL: 'postgres://tandem:secret@db.example.net:5432/tandem',
  KAFKA_SASL_PASSWORD: 'Endpoint=sb://tandem.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=s',
  LAKE_AZURE_CONNECTION_STRING: 'DefaultEndpointsProtocol=https;AccountName=tandem;AccountKey=a2V5;EndpointSuffix=core.windows.net',
  SERVING_API_KEYS: 'read-key',
  INGEST_API_KEYS: 'write-key',
};

function applyPatch(doc: Doc, ops: { op: string; path: string; value?: unknown }[]): void {
  for (const { op, path: pointer, value } of ops) {
    const parts = pointer.split('/').slice(1);
    let at = doc as Record<string, unknown>;
    for (const p of parts.slice(0, -1)) at = at[p] as Record<string, unknown>;
    const last = parts[parts.length - 1];
    if (op === 'replace' && !(last in at)) throw new Error(`patch replaces ${pointer}, which ${doc.kind} ${doc.metadata.name} does not have`);
    if (op !== 'replace' && op !== 'add') throw new Error(`unsupported patch op ${op}`);
    at[last] = value;
  }
}

function build(overlay: string): Doc[] {
  const [kustomization] = load(`overlays/${overlay}/kustomization.yaml`) as unknown as {
    patches?: { target: { kind: string; name?: string }; patch: string }[];
    secretGenerator?: { name: string; literals: string[] }[];
  }[];
  const [base] = load('base/kustomization.yaml') as unknown as { resources: string[] }[];
  const docs = base.resources.flatMap((r) => load(`base/${r}`));
  for (const { target, patch } of kustomization.patches ?? []) {
    const ops = parseAllDocuments(patch)[0].toJSON() as { op: string; path: string; value?: unknown }[];
    const targets = docs.filter((d) => d.kind === target.kind && (target.name === undefined || d.metadata.name === target.name));
    expect(targets.length).toBeGreaterThan(0);
    for (const d of targets) applyPatch(d, ops);
  }
  for (const g of kustomization.secretGenerator ?? []) {
    docs.push({ kind: 'Secret', metadata: { name: g.name }, stringData: Object.fromEntries(g.literals.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])) });
  }
  return docs;
}

type PodTemplate = { spec: { containers: Container[] } };
function containersOf(doc: Doc): Container[] {
  const spec = doc['spec'] as { template?: PodTemplate; jobTemplate?: { spec: { template: PodTemplate } } };
  if (doc.kind === 'Deployment' || doc.kind === 'Job') return spec.template!.spec.containers;
  if (doc.kind === 'CronJob') return spec.jobTemplate!.spec.template.spec.containers;
  return [];
}

/** The settings a container's command validates at start-up. */
function serviceOf(args: readonly string[]): { schema: TObject; load: (env: NodeJS.ProcessEnv) => unknown } {
  const entry = args.find((a) => a.startsWith('apps/'));
  switch (entry) {
    case 'apps/speed/src/main.ts':
      return { schema: SPEED_SETTINGS, load: loadSpeedConfig };
    case 'apps/serving/src/main.ts':
      return { schema: SERVING_SETTINGS, load: loadServingConfig };
    case 'apps/ingest/src/main.ts':
      return { schema: INGEST_SETTINGS, load: loadIngestConfig };
    case 'apps/batch/src/main.ts':
      return { schema: BATCH_SETTINGS, load: (env) => loadBatchConfig(env, { requireKafka: true }) };
    case 'apps/tandem/src/main.ts':
      if (args.includes('batch') || args.includes('rebuild')) return { schema: BATCH_SETTINGS, load: (env) => loadBatchConfig(env) };
  }
  throw new Error(`no settings known for a container running ${args.join(' ')}`);
}

const ALL_SCHEMAS = [SPEED_SETTINGS, SERVING_SETTINGS, INGEST_SETTINGS, BATCH_SETTINGS];
const known = (name: string) => ALL_SCHEMAS.some((s) => name in s.properties);

describe.each(['dev', 'production'])('the %s overlay', (overlay) => {
  const docs = build(overlay);
  const config = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === 'tandem-config')!['data'] as Record<string, string>;
  const secret = overlay === 'production' ? PRODUCTION_SECRETS : (docs.find((d) => d.kind === 'Secret')!['stringData'] as Record<string, string>);
  const workloads = docs.filter((d) => containersOf(d).length > 0);

  it('shares only settings some service reads', () => {
    for (const name of [...Object.keys(config), ...Object.keys(secret)]) expect({ name, known: known(name) }).toEqual({ name, known: true });
  });

  it('runs every service', () => {
    expect(workloads.map((d) => d.metadata.name).sort()).toEqual(['archiver', 'batch', 'ingest', 'serving', 'speed']);
  });

  it.each(workloads.map((d) => [d.metadata.name!, d] as const))('starts %s with settings that pass its start-up validation', (_name, doc) => {
    for (const container of containersOf(doc)) {
      const service = serviceOf(container.args);
      const own = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
      for (const name of Object.keys(own)) expect({ name, known: name in service.schema.properties }).toEqual({ name, known: true });
      expect(() => service.load({ ...config, ...secret, ...own })).not.toThrow();
      // The probes and the metrics annotation use the port the service listens on.
      const http = container.ports?.find((p) => p.name === 'http');
      if (http) expect(String(http.containerPort)).toBe(own['PORT']);
    }
  });
});

describe('the on-demand rebuild job', () => {
  it('runs a rebuild from the log that passes the batch settings validation', () => {
    const [job] = load('base/rebuild-job.yaml');
    const config = load('base/config.yaml')[0]['data'] as Record<string, string>;
    const [container] = containersOf(job);
    expect(container.args).toEqual(expect.arrayContaining(['rebuild', '--view', '--from', 'log']));
    expect(() => serviceOf(container.args).load({ ...config, DATABASE_URL: PRODUCTION_SECRETS['DATABASE_URL'] })).not.toThrow();
  });
});
