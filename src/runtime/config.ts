import { z } from 'zod';
import { LOG_LEVELS } from './logger.ts';

export type Env = Record<string, string | undefined>;

/** What a default may depend on (the pod's namespace comes from the environment or a file). */
export interface DefaultContext {
  env: Env;
  readFile: (path: string) => string | undefined;
}

/** One option, settable by flag or environment variable; the flag wins. */
export interface FlagSpec<S extends z.ZodType = z.ZodType> {
  /** Without the dashes: `metrics-bind-address`. */
  flag: string;
  env?: string;
  help: string;
  /** Parses the raw text (undefined when unset and no default). */
  schema: S;
  /** `--flag` alone means true; `--flag=false` is allowed. */
  boolean?: boolean;
  default?: string | ((ctx: DefaultContext) => string | undefined);
}

export type FlagSpecs = Record<string, FlagSpec>;
export type ConfigOf<F extends FlagSpecs> = { [K in keyof F]: z.output<F[K]['schema']> };

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}\nRun with --help to see every option.`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export interface BindAddress {
  host: string | undefined;
  port: number;
}

/** `[host]:port` (host may be empty or [v6]); "0" disables the server (null). */
export const bindAddress = z.string().transform((s, ctx): BindAddress | null => {
  if (s === '0') return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected [host]:port such as ":8080" or "127.0.0.1:8080", or "0" to disable',
    });
    return z.NEVER;
  }
  return { host: m[1] ?? (m[2] || undefined), port };
});

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A Go-style duration ("500ms", "15s", "5m", "1h30m"), in milliseconds. */
export const duration = z.string().transform((s, ctx) => {
  const parts = [...s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!s || parts.map((p) => p[0]).join('') !== s) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as "500ms", "15s", "5m" or "1h30m"' });
    return z.NEVER;
  }
  return parts.reduce((ms, p) => ms + Number(p[1]) * units[p[2]!]!, 0);
});

export const boolean = z.string().transform((s, ctx) => {
  if (['true', '1', 'yes'].includes(s.toLowerCase())) return true;
  if (['false', '0', 'no', ''].includes(s.toLowerCase())) return false;
  ctx.addIssue({ code: 'custom', message: 'expected true or false' });
  return z.NEVER;
});

export const positiveInt = (max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1, 'must be at least 1').max(max, `must be at most ${max}`));

const dns1123Subdomain = z
  .string()
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'must be a DNS-1123 subdomain (lower case)',
  );

const SA_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** The options every manager has (kubebuilder's cmd/main.go flags). */
export const baseFlags = {
  kubeconfig: {
    flag: 'kubeconfig',
    env: 'KUBECONFIG',
    help: 'Path to a kubeconfig; in-cluster config (or ~/.kube/config) when unset.',
    schema: z.string().min(1).optional(),
  },
  metricsBindAddress: {
    flag: 'metrics-bind-address',
    env: 'EVACUATOR_METRICS_BIND_ADDRESS',
    help: 'Address the /metrics endpoint binds to; "0" disables it.',
    schema: bindAddress,
    default: ':8080',
  },
  healthProbeBindAddress: {
    flag: 'health-probe-bind-address',
    env: 'EVACUATOR_HEALTH_PROBE_BIND_ADDRESS',
    help: 'Address /healthz and /readyz bind to; "0" disables them.',
    schema: bindAddress,
    default: ':8081',
  },
  leaderElect: {
    flag: 'leader-elect',
    env: 'EVACUATOR_LEADER_ELECT',
    help: 'Elect a leader on a Lease so only one replica acts.',
    schema: boolean,
    boolean: true,
    default: 'false',
  },
  leaderElectionNamespace: {
    flag: 'leader-election-namespace',
    env: 'EVACUATOR_LEADER_ELECTION_NAMESPACE',
    help: 'Namespace of the Lease; default: POD_NAMESPACE, else the service account namespace, else kubevirt-evacuator.',
    schema: dns1123Subdomain,
    default: ({ env, readFile }) =>
      env.POD_NAMESPACE || readFile(SA_NAMESPACE_FILE)?.trim() || 'kubevirt-evacuator',
  },
  leaderElectionId: {
    flag: 'leader-election-id',
    env: 'EVACUATOR_LEADER_ELECTION_ID',
    help: 'Name of the Lease.',
    schema: dns1123Subdomain,
    default: 'kubevirt-evacuator.evacuator.dev',
  },
  leaseDuration: {
    flag: 'leader-election-lease-duration',
    env: 'EVACUATOR_LEADER_ELECTION_LEASE_DURATION',
    help: 'How long standbys wait after the last observed renewal before taking over.',
    schema: duration,
    default: '15s',
  },
  renewDeadline: {
    flag: 'leader-election-renew-deadline',
    env: 'EVACUATOR_LEADER_ELECTION_RENEW_DEADLINE',
    help: 'How long the leader keeps retrying a renewal before giving up leadership (and exiting).',
    schema: duration,
    default: '10s',
  },
  retryPeriod: {
    flag: 'leader-election-retry-period',
    env: 'EVACUATOR_LEADER_ELECTION_RETRY_PERIOD',
    help: 'How often to try to acquire or renew the lease.',
    schema: duration,
    default: '2s',
  },
  gracefulShutdownTimeout: {
    flag: 'graceful-shutdown-timeout',
    env: 'EVACUATOR_GRACEFUL_SHUTDOWN_TIMEOUT',
    help: 'How long shutdown may take (drain workers, release the lease) before the process exits anyway.',
    schema: duration,
    default: '30s',
  },
  logLevel: {
    flag: 'log-level',
    env: 'EVACUATOR_LOG_LEVEL',
    help: `Minimum level logged: ${LOG_LEVELS.join(', ')}.`,
    schema: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }),
    default: 'info',
  },
  workers: {
    flag: 'workers',
    env: 'EVACUATOR_WORKERS',
    help: 'Concurrent reconciles per controller.',
    schema: positiveInt(256),
    default: '1',
  },
} satisfies FlagSpecs;

export type BaseConfig = ConfigOf<typeof baseFlags>;

export type ParseResult<F extends FlagSpecs> = { help: string } | { config: ConfigOf<F> };

/**
 * client-go's rules for the leader-election timings (checked at start-up, before anything is served):
 * the renew deadline below the lease duration, and the retry period below the renew deadline.
 */
export function checkLeaderElectionTimings(c: {
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
}): void {
  const problems: string[] = [];
  if (c.renewDeadline >= c.leaseDuration)
    problems.push(
      `--leader-election-renew-deadline (${c.renewDeadline} ms) must be shorter than --leader-election-lease-duration (${c.leaseDuration} ms)`,
    );
  if (c.retryPeriod >= c.renewDeadline)
    problems.push(
      `--leader-election-retry-period (${c.retryPeriod} ms) must be shorter than --leader-election-renew-deadline (${c.renewDeadline} ms)`,
    );
  if (problems.length) throw new ConfigError(problems);
}

/**
 * Parses `--flag=value` / `--flag value` arguments, then environment variables, then defaults, each
 * through its zod schema. Every problem names the flag, its environment variable and the bad value.
 */
export function parseConfig<F extends FlagSpecs>(
  specs: F,
  argv: readonly string[],
  env: Env,
  readFile: DefaultContext['readFile'] = () => undefined,
): ParseResult<F> {
  const byFlag = new Map(Object.entries(specs).map(([k, s]) => [s.flag, k]));
  const fromArgs = new Map<string, string>();
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') return { help: helpText(specs) };
    const m = /^--?([^=]+)(?:=(.*))?$/s.exec(arg);
    const key = m ? byFlag.get(m[1]!) : undefined;
    if (!m || key === undefined) {
      problems.push(`unknown argument "${arg}"`);
      continue;
    }
    const spec = specs[key]!;
    let value = m[2];
    if (value === undefined) {
      const next = argv[i + 1];
      if (spec.boolean) value = next === 'true' || next === 'false' ? (i++, next) : 'true';
      else if (next === undefined || next.startsWith('--')) {
        problems.push(`--${spec.flag} needs a value`);
        continue;
      } else value = (i++, next);
    }
    fromArgs.set(key, value);
  }
  const config: Record<string, unknown> = {};
  const ctx: DefaultContext = { env, readFile };
  for (const [key, spec] of Object.entries(specs)) {
    let raw: string | undefined;
    let source: string;
    if (fromArgs.has(key)) {
      raw = fromArgs.get(key);
      source = `--${spec.flag}`;
    } else if (spec.env && env[spec.env] !== undefined && env[spec.env] !== '') {
      raw = env[spec.env];
      source = `${spec.env} (environment)`;
    } else {
      raw = typeof spec.default === 'function' ? spec.default(ctx) : spec.default;
      source = 'default';
    }
    const result = spec.schema.safeParse(raw);
    if (result.success) {
      config[key] = result.data;
      continue;
    }
    const why = result.error.issues.map((i) => i.message).join('; ');
    const names = spec.env ? `--${spec.flag} / ${spec.env}` : `--${spec.flag}`;
    problems.push(`${names}: ${JSON.stringify(raw ?? null)} from ${source} is invalid: ${why}`);
  }
  if (problems.length) throw new ConfigError(problems);
  return { config: config as ConfigOf<F> };
}

export function helpText(specs: FlagSpecs): string {
  const lines = [
    'Usage: kubevirt-evacuator [flags]',
    '',
    'Flags (each also settable by the environment variable shown):',
  ];
  for (const spec of Object.values(specs)) {
    const def =
      typeof spec.default === 'function'
        ? '(computed)'
        : spec.default !== undefined
          ? `"${spec.default}"`
          : 'none';
    lines.push(`  --${spec.flag}${spec.boolean ? '' : ' <value>'}${spec.env ? `  [env ${spec.env}]` : ''}`);
    lines.push(`      ${spec.help} Default: ${def}.`);
  }
  return lines.join('\n') + '\n';
}
