export * from './batch-completed';
export * from './control-event';
