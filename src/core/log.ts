/**
 * pino logging with Janus' debug_level (0 none .. 4 info .. 7 debug) mapped onto pino levels.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Janus debug_level -> pino level name. */
export function pinoLevelFor(debugLevel: number): pino.LevelWithSilent {
  if (debugLevel <= 0) return 'silent';
  if (debugLevel === 1) return 'fatal';
  if (debugLevel === 2) return 'error';
  if (debugLevel === 3) return 'warn';
  if (debugLevel === 4) return 'info';
  if (debugLevel <= 6) return 'debug';
  return 'trace';
}

export function createLogger(debugLevel: number, destination?: pino.DestinationStream): Logger {
  const opts = { level: pinoLevelFor(debugLevel), base: { name: 'portunus' } };
  return destination ? pino(opts, destination) : pino(opts);
}

/** A logger that drops everything (tests that do not look at logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
