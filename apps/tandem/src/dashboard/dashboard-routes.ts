import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The quickstart's dashboard: one static page (./dashboard.html) drawing with uPlot, which
 * reads the public REST API plus one status endpoint for what only this process knows (the
 * replay, the batch runs, the dead-letter count).
 */
export interface DashboardStatus {
  readonly replay: { readonly published: number; readonly done: boolean; readonly simulatedNow: number | null; readonly lastEventTime: number | null };
  readonly deadLetters: number;
  readonly runs: readonly {
    readonly runId: string;
    readonly mode: string;
    readonly status: string;
    readonly finishedAt: string | null;
    readonly durationMs: number | null;
    readonly cut: string;
    readonly drift: number;
    readonly compared: number;
  }[];
}

const uplotDir = dirname(require.resolve('uplot'));
const assets = {
  page: readFileSync(join(__dirname, 'dashboard.html'), 'utf8'),
  script: readFileSync(join(uplotDir, 'uPlot.iife.min.js'), 'utf8'),
  style: readFileSync(join(uplotDir, 'uPlot.min.css'), 'utf8'),
};

export function addDashboardRoutes(app: NestFastifyApplication, status: () => Promise<DashboardStatus>): void {
  const http = app.getHttpAdapter().getInstance();
  http.get('/dashboard', (_req, reply) => reply.type('text/html; charset=utf-8').send(assets.page));
  http.get('/dashboard/uplot.js', (_req, reply) => reply.type('application/javascript').header('cache-control', 'max-age=3600').send(assets.script));
  http.get('/dashboard/uplot.css', (_req, reply) => reply.type('text/css').header('cache-control', 'max-age=3600').send(assets.style));
  http.get('/dashboard/api/status', async (_req, reply) => reply.send(await status()));
}
