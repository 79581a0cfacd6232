import { pino, type Logger } from 'pino';

// Structured JSON logs. Secrets never reach a log line: we never log headers
// or bodies, and the redaction below is a second net for anything that does.
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'gateway' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'authorization',
          '*.authorization',
          'headers.authorization',
          'req.headers.authorization',
          'connectionParams',
          'secret',
          '*.secret',
          'apiKey',
          'token',
          '*.token',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

export type { Logger };
