import { type Static, Type } from '@sinclair/typebox';
import { ConfigError } from '../errors/tandem-error';
import { AzureBlobLakeStorage } from './azure-blob-lake-storage';
import { LocalLakeStorage } from './local-lake-storage';
import type { LakeStorage } from './lake-storage';

/**
 * The environment settings of the lake, shared by the archiver and the batch runs. Spread
 * them into a service's config schema: `Type.Object({ ...LAKE_SETTINGS, ... })`.
 *
 * The lake is a local directory unless an Azure connection string is set.
 */
export const LAKE_SETTINGS = {
  LAKE_DIR: Type.String({ minLength: 1, default: './data/lake', description: 'Lake root directory (local filesystem lake)' }),
  LAKE_AZURE_CONNECTION_STRING: Type.Optional(
    Type.String({ minLength: 1, description: 'Azure Storage connection string; when set, the lake is in Azure Blob Storage / ADLS Gen2' }),
  ),
  LAKE_AZURE_CONTAINER: Type.String({ minLength: 3, maxLength: 63, default: 'tandem-lake', description: 'Blob container of the lake' }),
  LAKE_AZURE_PREFIX: Type.String({ default: '', description: "Folder of the lake inside the container ('' for its root)" }),
};

/** The settings as a config schema for loadConfig. */
export const LAKE_SETTINGS_SCHEMA = Type.Object(LAKE_SETTINGS);
export type LakeSettings = Static<typeof LAKE_SETTINGS_SCHEMA>;

/** The lake storage that validated settings describe; a ConfigError names a bad setting. */
export function lakeStorageFromSettings(settings: LakeSettings): LakeStorage {
  if (settings.LAKE_AZURE_CONNECTION_STRING === undefined) return new LocalLakeStorage(settings.LAKE_DIR);
  try {
    return new AzureBlobLakeStorage({
      connectionString: settings.LAKE_AZURE_CONNECTION_STRING,
      container: settings.LAKE_AZURE_CONTAINER,
      prefix: settings.LAKE_AZURE_PREFIX.replace(/^\/+|\/+$/g, ''),
    });
  } catch (error) {
    throw new ConfigError([`LAKE_AZURE_*: ${(error as Error).message}`]);
  }
}
