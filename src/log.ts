import { pino, type Logger } from 'pino';
import { pinoPretty } from './onDemand.js';

/** JSON lines for machines; readable lines when a person watches a terminal. */
export function createLogger(level: string): Logger {
  const options = { level, base: { name: 'nosrv' } };
  return process.stdout.isTTY ? pino(options, pinoPretty()({ colorize: true, destination: 1 })) : pino(options);
}
