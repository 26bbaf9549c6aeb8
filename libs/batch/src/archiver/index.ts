// The archiver: copies every contract-valid record from the log into the lake.
export { createArchiver, PartitionFencedError, type Archiver, type ArchiverStatus, type PartitionStatus } from './archiver';
export { type AnyStreamContract, type ArchiverLogger, type ArchiverOptions, ARCHIVER_DEFAULTS, contractTopic, type TopicOf } from './archiver-options';
export { ARCHIVER_SETTINGS, ARCHIVER_SETTINGS_SCHEMA, type ArchiverSettings, archiverOptionsFromSettings } from './archiver-settings';
export { ArchiverMetrics } from './archiver-metrics';
export { ARCHIVER, ArchiverModule, ArchiverLifecycle, type ArchiverModuleOptions } from './archiver.module';
