import { ConfigError } from '../errors/tandem-error';

/**
 * How every service process starts and stops: settings read and checked first (a bad one
 * exits with code 2 and a message naming it, before anything connects), then the service
 * starts; SIGTERM/SIGINT run its `stop` once and exit 0; a failure to start exits 1 with
 * the error. Services whose framework handles the signals itself return no `stop`.
 */
export function runService<C>(
  name: string,
  loadConfig: () => C,
  start: (config: C) => Promise<(() => Promise<void>) | void>,
): void {
  const fail = (error: unknown) => {
    process.stderr.write(`tandem ${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  };
  let config: C;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`tandem ${name}: ${error.message}\n`);
      process.exit(2);
    }
    return fail(error);
  }
  start(config).then((stop) => {
    if (stop === undefined) return;
    let stopping = false;
    const onSignal = (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`tandem ${name}: ${signal}, stopping\n`);
      stop().then(() => process.exit(0), fail);
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  }, fail);
}
