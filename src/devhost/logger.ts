/**
 * The devhost's logger: one line per event, `<time> <level> [<function> <invocation id>] <message>`.
 * Messages are folded onto one line and scrubbed of secrets: connection-string keys and SAS
 * signatures by pattern, and every value registered with `addSecret` (function keys, account keys).
 */
import type { HostLogger, LogLevel } from './hostTypes';

const LEVEL_RANK: Record<LogLevel, number> = {
  trace: 0,
  debug: 1,
  information: 2,
  warning: 3,
  error: 4,
  critical: 5,
};

const LEVEL_LABEL: Record<LogLevel, string> = {
  trace: 'trace',
  debug: 'debug',
  information: 'info ',
  warning: 'warn ',
  error: 'error',
  critical: 'crit ',
};

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && value in LEVEL_RANK;
}

/** The .NET level names host.json uses, mapped to ours ('None' turns logging off). */
export function fromHostJsonLevel(value: string): LogLevel | 'none' | undefined {
  switch (value.toLowerCase()) {
    case 'trace':
      return 'trace';
    case 'debug':
      return 'debug';
    case 'information':
      return 'information';
    case 'warning':
      return 'warning';
    case 'error':
      return 'error';
    case 'critical':
      return 'critical';
    case 'none':
      return 'none';
    default:
      return undefined;
  }
}

// key=value pairs in connection strings and query strings whose value is a secret.
const SECRET_PAIR = /\b(AccountKey|SharedAccessKey|SharedAccessSignature|sig|code|password|pwd)=([^;&\s"']+)/gi;
const SECRET_HEADER = /\b(x-functions-key|authorization)(["']?\s*[:=]\s*["']?)([^\s,"']+)/gi;

/** Replaces known secrets in `text` (pattern-based and the registered `secrets`). */
export function redactSecrets(text: string, secrets: Iterable<string> = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join('***');
  }
  return out.replace(SECRET_PAIR, '$1=***').replace(SECRET_HEADER, '$1$2***');
}

export interface DevhostLogger extends HostLogger {
  /** Registers a value that must never appear in a log line. */
  addSecret(value: string): void;
}

export interface LoggerOptions {
  minLevel?: LogLevel | 'none';
  /** Where lines go; standard output by default. */
  write?: (line: string) => void;
}

export function createLogger(options: LoggerOptions = {}): DevhostLogger {
  const secrets = new Set<string>();
  const minLevel = options.minLevel ?? 'information';
  const write = options.write ?? ((line: string) => void process.stdout.write(line + '\n'));
  return {
    addSecret(value: string): void {
      if (value) secrets.add(value);
    },
    log(level, message, fields): void {
      if (minLevel === 'none' || LEVEL_RANK[level] < LEVEL_RANK[minLevel]) return;
      const scope =
        fields?.functionName || fields?.invocationId
          ? `[${[fields.functionName, fields.invocationId].filter(Boolean).join(' ')}] `
          : '';
      const oneLine = message.replace(/\r?\n\s*/g, ' ⏎ ');
      write(`${new Date().toISOString()} ${LEVEL_LABEL[level]} ${scope}${redactSecrets(oneLine, secrets)}`);
    },
  };
}
