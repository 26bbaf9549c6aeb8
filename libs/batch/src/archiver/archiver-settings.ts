import { streamByName, streamNames } from '@tandem/contracts';
import { ConfigError, type LakeStorage, type Log, Setting, splitList } from '@tandem/platform';
import { type Static, Type } from '@sinclair/typebox';
import type { Registry } from 'prom-client';
import { ARCHIVER_DEFAULTS, type AnyStreamContract, type ArchiverOptions } from './archiver-options';

/**
 * The archiver's environment settings. Spread them into a service's config schema with the
 * log's and the lake's: `Type.Object({ ...KAFKA_SETTINGS, ...LAKE_SETTINGS, ...ARCHIVER_SETTINGS })`.
 */
export const ARCHIVER_SETTINGS = {
  ARCHIVER_STREAMS: Setting.list('Streams to archive, comma-separated (default: every stream)', streamNames.join(',')),
  ARCHIVER_GROUP_ID: Type.String({ minLength: 1, default: ARCHIVER_DEFAULTS.groupId, description: 'Consumer group of the archiver' }),
  ARCHIVER_MAX_RECORDS: Setting.int(ARCHIVER_DEFAULTS.maxRecords, 1, 10_000_000, 'Records per lake file at most'),
  ARCHIVER_MAX_AGE_MS: Setting.int(ARCHIVER_DEFAULTS.maxAgeMs, 1, 24 * 3600 * 1000, 'Longest a consumed record waits for its flush, ms'),
};

/** The settings as a config schema for loadConfig. */
export const ARCHIVER_SETTINGS_SCHEMA = Type.Object(ARCHIVER_SETTINGS);
export type ArchiverSettings = Static<typeof ARCHIVER_SETTINGS_SCHEMA>;

/** Archiver options from validated settings and the adapters the service built. */
export function archiverOptionsFromSettings(
  settings: ArchiverSettings,
  adapters: { readonly log: Log; readonly storage: LakeStorage; readonly registry?: Registry },
): ArchiverOptions {
  const streams: AnyStreamContract[] = [];
  const unknown: string[] = [];
  for (const name of splitList(settings.ARCHIVER_STREAMS)) {
    try {
      streams.push(streamByName(name));
    } catch {
      unknown.push(name);
    }
  }
  if (unknown.length > 0) throw new ConfigError([`ARCHIVER_STREAMS: unknown stream(s) ${unknown.join(', ')}; known: ${streamNames.join(', ')}`]);
  return {
    ...adapters,
    streams,
    groupId: settings.ARCHIVER_GROUP_ID,
    maxRecords: settings.ARCHIVER_MAX_RECORDS,
    maxAgeMs: settings.ARCHIVER_MAX_AGE_MS,
  };
}
