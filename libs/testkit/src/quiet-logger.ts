/**
 * A logger that drops everything, for the components a test starts (Kafka clients, the speed
 * layer, the archiver, batch runs) when their logs would only bury the assertions' output.
 */
export const quietLogger = { info: () => undefined, warn: () => undefined, error: () => undefined, log: () => undefined };
