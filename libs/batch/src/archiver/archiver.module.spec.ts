import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { httpRequests } from '@tandem/contracts';
import { EmbeddedLog, LakeManifest, LocalLakeStorage } from '@tandem/platform';
import { Registry } from 'prom-client';
import type { Archiver } from './archiver';
import { ARCHIVER, ArchiverModule } from './archiver.module';
import { ARCHIVER_SETTINGS, archiverOptionsFromSettings } from './archiver-settings';
import { loadConfig } from '@tandem/platform';
import { Type } from '@sinclair/typebox';
import { accessLogEvents, produceAccessLog } from './testing/access-log';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('ArchiverModule', () => {
  let dir: string;
  let log: EmbeddedLog;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'tandem-archiver-module-'));
    log = await EmbeddedLog.open({ logger: quiet });
    await (await log.admin()).ensureTopic(httpRequests.topic, 2);
  });
  afterEach(async () => {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts the archiver with the application and flushes it on shutdown', async () => {
    const LOG = Symbol('log');
    const LAKE = Symbol('lake');
    const lake = new LocalLakeStorage(dir);
    @Module({ providers: [{ provide: LOG, useValue: log }, { provide: LAKE, useValue: lake }], exports: [LOG, LAKE] })
    class AdaptersModule {}
    const settings = loadConfig(Type.Object(ARCHIVER_SETTINGS), { ARCHIVER_STREAMS: 'http_requests', ARCHIVER_MAX_AGE_MS: '600000' });
    @Module({
      imports: [
        ArchiverModule.forRootAsync({
          imports: [AdaptersModule],
          inject: [LOG, LAKE],
          useFactory: (l: EmbeddedLog, storage: LocalLakeStorage) => ({
            ...archiverOptionsFromSettings(settings, { log: l, storage, registry: new Registry() }),
            logger: quiet,
          }),
        }),
      ],
    })
    class AppModule {}

    await produceAccessLog(log, httpRequests.topic, accessLogEvents(300));
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    await app.init();
    const archiver = app.get<Archiver>(ARCHIVER);
    expect(archiver.status().running).toBe(true);
    const deadline = Date.now() + 10_000;
    while (archiver.status().partitions.reduce((n, p) => n + p.consumedUntil, 0) < 301 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await new LakeManifest(lake).load('http_requests')).toEqual([]); // buffered: maxAge is 10 minutes
    await app.close();
    expect(archiver.status().running).toBe(false);
    const entries = await new LakeManifest(lake).load('http_requests');
    expect(entries.reduce((n, e) => n + e.rows, 0)).toBe(300);
  });

  it('names unknown streams in ARCHIVER_STREAMS', () => {
    const settings = loadConfig(Type.Object(ARCHIVER_SETTINGS), { ARCHIVER_STREAMS: 'http_requests,nope' });
    expect(() => archiverOptionsFromSettings(settings, { log, storage: new LocalLakeStorage(dir) })).toThrow(/ARCHIVER_STREAMS: unknown stream\(s\) nope/);
  });
});
