import { type logCreator, logLevel } from 'kafkajs';
import type { KafkaLogger } from './kafka-options';

/**
 * Routes kafkajs' own log lines (warnings and errors; its info level narrates every join)
 * to the platform logger, with kafkajs' structured fields kept.
 *
 * kafkajs logs every error response at error level, including "the group is rebalancing",
 * which is how a healthy group tells its members to rejoin; that one is information.
 */
export function kafkaLogCreator(logger: KafkaLogger): logCreator {
  return () =>
    ({ level, log }) => {
      const { message, ...fields } = log;
      const line = `kafkajs: ${message}`;
      const rebalancing = typeof fields['error'] === 'string' && /rebalanc/i.test(fields['error']);
      if (rebalancing) logger.info(line, fields);
      else if (level === logLevel.ERROR || level === logLevel.NOTHING) logger.error(line, fields);
      else if (level === logLevel.WARN) logger.warn(line, fields);
      else logger.info(line, fields);
    };
}
