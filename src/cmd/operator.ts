#!/usr/bin/env node
// Entry point: flags and wiring only.
import { KubeConfig } from '@kubernetes/client-node';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { baseFlags, checkLeaderElectionTimings, ConfigError, parseConfig } from '../runtime/config.ts';
import { errorMessage } from '../runtime/errors.ts';
import { createLogger } from '../runtime/logger.ts';
import { Manager } from '../runtime/manager.ts';
import { HttpMethod, kubeRestClient } from '../runtime/rest.ts';
import { controllerFlags, type OperatorConfig, registerControllers } from './controllers.ts';

async function main(): Promise<void> {
  let config: OperatorConfig;
  try {
    const parsed = parseConfig(
      { ...baseFlags, ...controllerFlags },
      process.argv.slice(2),
      process.env,
      (path) => {
        try {
          return readFileSync(path, 'utf8');
        } catch {
          return undefined;
        }
      },
    );
    if ('help' in parsed) {
      process.stdout.write(parsed.help);
      return;
    }
    config = parsed.config;
    checkLeaderElectionTimings(config);
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : errorMessage(err)}\n`);
    process.exitCode = 2;
    return;
  }

  const log = createLogger({ level: config.logLevel });
  process.on('unhandledRejection', (err) => log.error('unhandled promise rejection', { err }));
  process.on('uncaughtException', (err) => {
    log.error('uncaught exception, exiting', { err });
    process.exit(1);
  });

  const kubeConfig = new KubeConfig();
  try {
    if (config.kubeconfig) kubeConfig.loadFromFile(config.kubeconfig);
    else kubeConfig.loadFromDefault();
  } catch (err) {
    log.error('could not load the kubeconfig', { kubeconfig: config.kubeconfig, err: errorMessage(err) });
    process.exit(1);
  }
  const identity = process.env.POD_NAME || `${hostname()}_${randomUUID()}`;
  const rest = kubeRestClient(kubeConfig);
  try {
    const version = await rest.request<{ gitVersion?: string }>(HttpMethod.GET, '/version');
    log.info('connected', { server: kubeConfig.getCurrentCluster()?.server, version: version.gitVersion });
  } catch (err) {
    log.error('could not reach the API server', { server: kubeConfig.getCurrentCluster()?.server, err });
    process.exit(1);
  }

  const manager = new Manager({
    kubeConfig,
    identity,
    rest,
    logger: log,
    workers: config.workers,
    metricsAddress: config.metricsBindAddress,
    healthAddress: config.healthProbeBindAddress,
    gracefulShutdownTimeoutMs: config.gracefulShutdownTimeout,
    leaderElection: config.leaderElect
      ? {
          namespace: config.leaderElectionNamespace,
          name: config.leaderElectionId,
          leaseDurationMs: config.leaseDuration,
          renewDeadlineMs: config.renewDeadline,
          retryPeriodMs: config.retryPeriod,
        }
      : null,
    onLeadershipLost: () => process.exit(1),
  });
  registerControllers(manager, config);

  let signals = 0;
  const shutdown = (signal: string) => {
    if (++signals > 1) {
      log.warn('second signal, exiting at once', { signal });
      process.exit(1);
    }
    log.info('shutting down', { signal });
    // The manager gives up after the grace period; this is the backstop if something still hangs.
    setTimeout(() => process.exit(1), config.gracefulShutdownTimeout + 5_000).unref();
    void manager.stop().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  log.info('starting manager', { identity, leaderElect: config.leaderElect });
  if (await manager.start()) log.info('manager started', { leader: manager.isLeader() });
}

await main();
