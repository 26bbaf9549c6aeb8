export * from './archiver';
export * from './recompute';
export * from './conformity';
export { BatchModule, type BatchModuleOptions } from './batch.module';
export { BatchHealthIndicator } from './recompute/nest/batch-health.indicator';
export { BATCH_RUNTIME } from './recompute/nest/batch.tokens';
export type { BatchDependencies, BatchRuntime } from './recompute/nest/batch-runtime';
