export * from './algebra/aggregator';
export { JsonWriter } from './algebra/json-text';
export * from './index-aggregators';
export * from './views/granularity';
export * from './views/record';
export * from './views/define-view';
export * from './views/evaluate';
export * from './views/counted';
export * from './catalog';
