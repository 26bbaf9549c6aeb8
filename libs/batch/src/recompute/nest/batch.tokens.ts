/** Injection token of the running batch layer (BatchRuntime). */
export const BATCH_RUNTIME = Symbol('tandem.batch.runtime');
