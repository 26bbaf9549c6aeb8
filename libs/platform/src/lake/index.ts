// The lake: storage adapters (local filesystem, Azure Blob / ADLS Gen2), the Parquet data
// files, the manifest and the readers the batch layer uses. Format: docs/lake.md.
export * from './lake-storage';
export { LocalLakeStorage } from './local-lake-storage';
export { AzureBlobLakeStorage, type AzureBlobLakeOptions } from './azure-blob-lake-storage';
export { LAKE_SETTINGS, LAKE_SETTINGS_SCHEMA, type LakeSettings, lakeStorageFromSettings } from './lake-settings';
export * from './lake-paths';
export * from './lake-columns';
export * from './lake-file';
export * from './lake-file-columns';
export * from './records-checksum';
export * from './manifest-entry';
export * from './lake-manifest';
export * from './lake-records';
