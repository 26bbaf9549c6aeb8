/// <reference lib="dom" />
/**
 * The dashboard as a person sees it: headless Chromium (Debian's, driven by playwright-core)
 * loads it from a running quickstart, the chart renders with data, and the batch and speed
 * parts are shown apart. A screenshot is saved under test-output/.
 */
import { freePorts } from '@tandem/platform';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startQuickstartProcess } from './quickstart-process';

jest.setTimeout(240_000);

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const outputDir = join(__dirname, '..', '..', 'test-output');
const dataDir = mkdtempSync(join(tmpdir(), 'tandem-dashboard-'));
chmodSync(dataDir, 0o755);
let qs: ReturnType<typeof startQuickstartProcess> | undefined;

afterAll(async () => {
  if (qs && qs.child.exitCode === null) await qs.interrupt(10_000).catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the dashboard', () => {
  it('renders the chart with data, the batch/speed split, freshness and batch runs', async () => {
    expect(existsSync(CHROMIUM)).toBe(true);
    const [port, grpcPort] = await freePorts(2);
    qs = startQuickstartProcess(['--data-dir', dataDir, '--port', String(port), '--grpc-port', String(grpcPort), '--rate', '100000000', '--limit', '8000', '--batch-interval', '2', '--chunk-size', '500']);
    await qs.waitFor(/Ready\. Press Ctrl-C to stop\./, 120_000);

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`http://127.0.0.1:${port}/dashboard`);
      // Refreshes every 2 s; wait until the chosen key has points from both layers.
      await page.waitForFunction(() => Number(document.body.dataset['points']) > 0 && Number(document.body.dataset['batchEvents']) > 0 && Number(document.body.dataset['speedEvents']) > 0, undefined, {
        timeout: 90_000,
        polling: 500,
      });
      expect(await page.locator('#chart canvas').count()).toBeGreaterThan(0);
      expect(await page.locator('#chart .u-legend').innerText()).toMatch(/batch events[\s\S]*speed events|speed events[\s\S]*batch events/);
      expect(await page.locator('#freshness').innerText()).toMatch(/s$/);
      await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr').length > 0, undefined, { timeout: 30_000 });
      expect(await page.locator('#runs tbody tr').first().innerText()).toMatch(/completed/);
      expect(errors).toEqual([]);
      mkdirSync(outputDir, { recursive: true });
      const file = join(outputDir, 'dashboard.png');
      await page.screenshot({ path: file, fullPage: true });
      expect(statSync(file).size).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
  });
});
