export * from './stream-contract';
export * from './codec';
export * from './dead-letter';
