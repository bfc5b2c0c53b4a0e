import { expect } from 'chai';
import { z } from 'zod';
import {
  baseFlags,
  checkLeaderElectionTimings,
  ConfigError,
  duration,
  type FlagSpecs,
  parseConfig,
} from './config.ts';

function parse(
  argv: string[],
  env: Record<string, string> = {},
  readFile: (p: string) => string | undefined = () => undefined,
) {
  const r = parseConfig(baseFlags, argv, env, readFile);
  if ('help' in r) throw new Error('unexpected help');
  return r.config;
}

function problems(argv: string[], env: Record<string, string> = {}): string[] {
  try {
    parseConfig(baseFlags, argv, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  context('with no flags or environment', () => {
    it('should use the documented defaults', () => {
      const c = parse([]);
      expect(c).to.deep.include({
        kubeconfig: undefined,
        metricsBindAddress: { host: undefined, port: 8080 },
        healthProbeBindAddress: { host: undefined, port: 8081 },
        leaderElect: false,
        leaderElectionNamespace: 'kubevirt-evacuator',
        leaderElectionId: 'kubevirt-evacuator.evacuator.dev',
        leaseDuration: 15_000,
        renewDeadline: 10_000,
        retryPeriod: 2_000,
        gracefulShutdownTimeout: 30_000,
        logLevel: 'info',
        workers: 1,
      });
    });
  });

  context('with flags and environment variables', () => {
    it('should read both forms of flags, let flags win over the environment and the environment over defaults', () => {
      const c = parse(
        ['--metrics-bind-address', '127.0.0.1:9090', '--leader-elect', '--workers=4', '--log-level', 'debug'],
        {
          EVACUATOR_METRICS_BIND_ADDRESS: ':1',
          EVACUATOR_HEALTH_PROBE_BIND_ADDRESS: '[::1]:9091',
          KUBECONFIG: '/k',
        },
      );
      expect(c.metricsBindAddress).to.deep.equal({ host: '127.0.0.1', port: 9090 });
      expect(c.healthProbeBindAddress).to.deep.equal({ host: '::1', port: 9091 });
      expect(c.leaderElect).to.equal(true);
      expect(c.workers).to.equal(4);
      expect(c.logLevel).to.equal('debug');
      expect(c.kubeconfig).to.equal('/k');
    });

    it('should accept an explicit boolean value and "0" to disable a server', () => {
      const c = parse(['--leader-elect', 'false', '--metrics-bind-address=0']);
      expect(c.leaderElect).to.equal(false);
      expect(c.metricsBindAddress).to.equal(null);
    });

    it('should default the lease namespace to POD_NAMESPACE, then the service account file', () => {
      expect(parse([], { POD_NAMESPACE: 'ops' }).leaderElectionNamespace).to.equal('ops');
      expect(parse([], {}, () => 'from-sa\n').leaderElectionNamespace).to.equal('from-sa');
    });
  });

  context('with bad values', () => {
    it('should name the flag, the environment variable and the bad value for every problem at once', () => {
      const p = problems(['--metrics-bind-address=localhost', '--workers', '0', '--log-level=loud'], {
        EVACUATOR_LEADER_ELECT: 'maybe',
        EVACUATOR_GRACEFUL_SHUTDOWN_TIMEOUT: '30',
      });
      expect(p).to.have.length(5);
      expect(p[0])
        .to.include('--metrics-bind-address / EVACUATOR_METRICS_BIND_ADDRESS')
        .and.include('"localhost"');
      expect(p.find((x) => x.includes('--leader-elect /')))
        .to.include('"maybe"')
        .and.include('EVACUATOR_LEADER_ELECT (environment)');
      expect(p.find((x) => x.includes('--workers')))
        .to.include('"0"')
        .and.include('must be at least 1');
      expect(p.find((x) => x.includes('--log-level')))
        .to.include('"loud"')
        .and.include('expected one of debug, info, warn, error');
      expect(p.find((x) => x.includes('--graceful-shutdown-timeout')))
        .to.include('"30"')
        .and.include('duration');
    });

    it('should reject unknown arguments and flags missing their value', () => {
      expect(problems(['--nope'])).to.deep.equal(['unknown argument "--nope"']);
      expect(problems(['--leader-election-id'])).to.deep.equal(['--leader-election-id needs a value']);
    });

    it('should reject an invalid lease name and a port out of range', () => {
      expect(problems(['--leader-election-id=Bad_Name'])[0]).to.include('DNS-1123');
      expect(problems(['--health-probe-bind-address=:70000'])[0]).to.include('":70000"');
    });
  });

  context('with --help', () => {
    it('should list every flag with its environment variable', () => {
      const r = parseConfig(baseFlags, ['--workers=0', '--help'], {});
      expect(r).to.have.property('help');
      const help = (r as { help: string }).help;
      for (const spec of Object.values(baseFlags)) {
        expect(help).to.include(`--${spec.flag}`);
        if (spec.env) expect(help).to.include(spec.env);
      }
    });
  });

  context('with controller-specific flags', () => {
    it('should parse them typed alongside the base flags', () => {
      const specs = {
        ...baseFlags,
        rebuildTimeout: {
          flag: 'rebuild-timeout',
          env: 'EVACUATOR_REBUILD_TIMEOUT',
          help: 'x',
          schema: duration,
          default: '10m',
        },
        mode: { flag: 'mode', help: 'y', schema: z.enum(['a', 'b']).optional() },
      } satisfies FlagSpecs;
      const r = parseConfig(specs, ['--rebuild-timeout=1h30m'], {});
      if ('help' in r) throw new Error('unexpected help');
      const ms: number = r.config.rebuildTimeout;
      expect(ms).to.equal(90 * 60_000);
      expect(r.config.mode).to.equal(undefined);
    });
  });

  describe('checkLeaderElectionTimings', () => {
    it('should accept client-go defaults and name each flag out of order', () => {
      expect(() =>
        checkLeaderElectionTimings({ leaseDuration: 15_000, renewDeadline: 10_000, retryPeriod: 2_000 }),
      ).to.not.throw();
      let error: unknown;
      try {
        checkLeaderElectionTimings({ leaseDuration: 10_000, renewDeadline: 10_000, retryPeriod: 10_000 });
      } catch (err) {
        error = err;
      }
      expect(error).to.be.instanceOf(ConfigError);
      const problems = (error as ConfigError).problems.join('\n');
      expect(problems).to.include('--leader-election-renew-deadline (10000 ms) must be shorter than');
      expect(problems).to.include('--leader-election-retry-period (10000 ms) must be shorter than');
    });
  });

  describe('duration', () => {
    it('should parse Go-style durations and reject anything else', () => {
      expect(duration.parse('500ms')).to.equal(500);
      expect(duration.parse('1.5s')).to.equal(1500);
      expect(duration.parse('2h')).to.equal(7_200_000);
      for (const bad of ['', '5', '5x', 's', '1m '])
        expect(duration.safeParse(bad).success, bad).to.equal(false);
    });
  });
});
