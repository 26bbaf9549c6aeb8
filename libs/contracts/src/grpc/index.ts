export * from './proto-path';
