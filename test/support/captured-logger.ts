import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/shared/logger.ts';

/** A logger at trace level whose every line is kept, so tests can grep the output for secrets. */
export function capturedLogger(): { log: Logger; text: () => string } {
  const lines: string[] = [];
  const log = createLogger({
    level: 'trace',
    destination: new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  });
  return { log, text: () => lines.join('') };
}
