// @tandem/speed: the speed layer. A plain factory (createSpeedLayer) for any host, and a
// Nest module (SpeedModule) wrapping it with health and metrics.
export { createSpeedLayer, type SpeedLayer, type SpeedLayerOptions, type SpeedLogger, type SpeedState, type SpeedStatus, type PartitionStatus } from './speed-layer';
export { SPEED_SETTINGS, type SpeedSettings, type SpeedConfig, loadSpeedConfig } from './speed.config';
export { bindStreams, type StreamBinding } from './stream-binding';
export { RealtimeViewWriter, type PartitionWork, type PartitionOutcome, type RealtimeViewWriterOptions } from './realtime-view-writer';
export { RealtimeCleanup } from './realtime-cleanup';
export { SpeedMetrics } from './speed-metrics';
export { BatchAbandonedError } from './group-commit';
export { SpeedModule, type SpeedModuleOptions } from './nest/speed.module';
export { SpeedHealthIndicator } from './nest/speed-health.indicator';
export { SPEED_RUNTIME } from './nest/speed.tokens';
export type { SpeedRuntime, SpeedDependencies } from './nest/speed-runtime';
