/** Structured JSON logs: one line per event, with child loggers that carry fields. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  child(fields: LogFields): Logger;
  enabled(level: LogLevel): boolean;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where each line goes (a newline is appended). Defaults to stderr. */
  write?: (line: string) => void;
  now?: () => number;
}

const rank: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export function createLogger(options: LoggerOptions = {}, fields: LogFields = {}): Logger {
  const level = options.level ?? 'info';
  const write = options.write ?? ((line: string) => void process.stderr.write(line + '\n'));
  const now = options.now ?? Date.now;
  const log = (lvl: LogLevel, msg: string, extra?: LogFields) => {
    if (rank[lvl] < rank[level]) return;
    const record: LogFields = { ts: new Date(now()).toISOString(), level: lvl, msg, ...fields };
    for (const [k, v] of Object.entries(extra ?? {})) record[k] = serialize(v);
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch {
      line = JSON.stringify({ ts: record.ts, level: lvl, msg, logError: 'fields not serializable' });
    }
    write(line);
  };
  return {
    debug: (m, f) => log('debug', m, f),
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
    child: (more) => createLogger(options, { ...fields, ...more }),
    enabled: (lvl) => rank[lvl] >= rank[level],
  };
}

/** A logger that drops everything (tests, defaults). */
export const nopLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => nopLogger,
  enabled: () => false,
};

function serialize(v: unknown): unknown {
  if (v instanceof Error) {
    const out: LogFields = { name: v.name, message: v.message };
    const code = (v as { code?: unknown }).code ?? (v as { statusCode?: unknown }).statusCode;
    if (code !== undefined) out.code = code;
    const body = (v as { body?: unknown }).body;
    if (body !== undefined) out.body = typeof body === 'string' ? body.slice(0, 1000) : body;
    if (v.stack) out.stack = v.stack;
    return out;
  }
  if (typeof v === 'bigint') return v.toString();
  return v;
}
