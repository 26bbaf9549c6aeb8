export * from './http-requests';
export * from './apache-log';
export * from './flights';
export * from './registry';
