// Leader election between real operator processes on the bed's API server, with the default timings
// (lease 15 s, renew deadline 10 s, retry period 2 s with client-go's 1.2 jitter factor).
import { expect } from 'chai';
import {
  consistently,
  createNamespace,
  deleteNamespace,
  eventually,
  kc,
  testCluster,
} from '../../support/kube.ts';
import { installCrd } from '../../support/evacuator.ts';
import { readLease, waitForLease } from '../../support/leases.ts';
import { killAllOperators, OperatorProcess } from '../../support/operator-process.ts';
import { TcpProxy } from '../../support/tcp-proxy.ts';

const LEASE = 'e2e-evacuator-leader';
const LEASE_MS = 15_000;
const RETRY_MS = 2_000;
/**
 * A standby reads the lease every retry period · [1, 2.2), so it sees the dead leader's last renewal
 * up to one such period late, and then reads again right when that lease expires; the API round
 * trips get a second.
 */
const LATEST_TAKEOVER_MS = LEASE_MS + 2.2 * RETRY_MS + 1_000;

function startReplica(
  identity: string,
  namespace: string,
  args: string[] = [],
  kubeconfigPath = testCluster.kubeconfigPath,
): OperatorProcess {
  return new OperatorProcess({
    identity,
    kubeconfigPath,
    leaderElection: { namespace, lease: LEASE },
    args,
  });
}

describe('Operator leader election', function () {
  this.timeout(180_000);
  let namespace: string;
  let replicas: OperatorProcess[] = [];

  before(async function () {
    await installCrd();
  });

  beforeEach(async function () {
    namespace = await createNamespace('e2e-leader');
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') for (const r of replicas) console.log(r.tail(40));
    await killAllOperators();
    replicas = [];
    await deleteNamespace(namespace);
  });

  /** Starts two replicas at once; resolves with [leader, standby] once the lease has a holder. */
  async function startPair(): Promise<[OperatorProcess, OperatorProcess]> {
    replicas = [startReplica('replica-a', namespace), startReplica('replica-b', namespace)];
    const lease = await waitForLease(namespace, LEASE, 'held by a replica', (l) =>
      replicas.some((r) => r.identity === l.holder),
    );
    const leader = replicas.find((r) => r.identity === lease.holder)!;
    const standby = replicas.find((r) => r !== leader)!;
    await leader.waitForLog('became leader');
    await standby.waitForLog('attempting to acquire the lease');
    return [leader, standby];
  }

  context('when two replicas start together', function () {
    it('should make exactly one of them leader and keep the other a ready standby', async function () {
      const [leader, standby] = await startPair();
      expect(await leader.leaderStatus(LEASE)).to.equal(1);
      expect(await standby.leaderStatus(LEASE)).to.equal(0);
      const leaderReady = await leader.probe('/readyz');
      const standbyReady = await standby.probe('/readyz');
      expect(leaderReady.status, leaderReady.body).to.equal(200);
      expect(standbyReady.status, standbyReady.body).to.equal(200);
      expect(standbyReady.body).to.contain('standby');

      // Several renewals and standby retries later, nothing has changed hands.
      const first = (await readLease(namespace, LEASE))!;
      await consistently(
        `${leader.identity} to stay the only leader`,
        async () => {
          const lease = await readLease(namespace, LEASE);
          return (
            lease?.holder === leader.identity &&
            lease.transitions === first.transitions &&
            !standby.logs.some((l) => l.msg === 'became leader') &&
            (await standby.leaderStatus(LEASE)) === 0
          );
        },
        3 * RETRY_MS,
      );
      const later = (await readLease(namespace, LEASE))!;
      expect(later.renewTime, 'the leader keeps renewing').to.be.above(first.renewTime!);
    });
  });

  context('when the leader is SIGKILLed', function () {
    it('should let the standby lead once the old lease expired, and no earlier', async function () {
      const [leader, standby] = await startPair();
      const before = (await readLease(namespace, LEASE))!;

      const killedAt = Date.now();
      leader.kill('SIGKILL');
      await leader.exited;
      // Nobody renews any more: this is the dead leader's last renewal (written on its clock, which
      // is this machine's clock).
      const last = (await readLease(namespace, LEASE))!;
      expect(last.holder).to.equal(leader.identity);

      const taken = await waitForLease(
        namespace,
        LEASE,
        `taken over by ${standby.identity}`,
        (l) => l.holder === standby.identity,
        LATEST_TAKEOVER_MS + 10_000,
      );
      const afterLastRenewMs = taken.acquireTime! - last.renewTime!;
      const afterKillMs = taken.acquireTime! - killedAt;
      console.log(
        `      failover: ${(afterKillMs / 1000).toFixed(2)} s after SIGKILL, ` +
          `${(afterLastRenewMs / 1000).toFixed(2)} s after the dead leader's last renewal`,
      );
      expect(afterLastRenewMs, 'took over before the lease expired').to.be.at.least(LEASE_MS - 100);
      expect(afterLastRenewMs, 'took over too late').to.be.at.most(LATEST_TAKEOVER_MS);
      expect(afterKillMs).to.be.at.most(LATEST_TAKEOVER_MS);
      expect(taken.transitions).to.equal(before.transitions + 1);
      await standby.waitForLog('became leader');
      expect(await standby.leaderStatus(LEASE)).to.equal(1);
      expect((await standby.probe('/readyz')).status).to.equal(200);
    });
  });

  context('when the leader gets SIGTERM', function () {
    it('should exit 0 within the grace period and release its Lease', async function () {
      const graceMs = 10_000;
      const alone = startReplica('replica-alone', namespace, [
        `--graceful-shutdown-timeout=${graceMs / 1000}s`,
      ]);
      replicas = [alone];
      await alone.waitForLog('became leader');
      await waitForLease(namespace, LEASE, `held by ${alone.identity}`, (l) => l.holder === alone.identity);

      const signalledAt = Date.now();
      alone.kill('SIGTERM');
      const exit = await alone.exited;
      expect(exit, 'exit status').to.deep.include({ code: 0, signal: null });
      expect(exit.at - signalledAt).to.be.below(graceMs);
      expect(alone.logs.some((l) => l.msg === 'released the lease')).to.equal(true);
      const lease = (await readLease(namespace, LEASE))!;
      expect(lease.holder).to.equal('');
      expect(lease.durationSeconds).to.equal(1);
    });

    it('should let the standby take over without waiting for the lease to expire', async function () {
      const [leader, standby] = await startPair();
      leader.kill('SIGTERM');
      const exit = await leader.exited;
      expect(exit.code).to.equal(0);

      const taken = await waitForLease(
        namespace,
        LEASE,
        `taken over by ${standby.identity}`,
        (l) => l.holder === standby.identity,
        LEASE_MS,
      );
      const released = leader.logs.find((l) => l.msg === 'released the lease');
      expect(released, 'the leader released the lease').to.not.equal(undefined);
      const afterReleaseMs = taken.acquireTime! - Date.parse(released!.ts!);
      console.log(`      handover after the lease was released: ${(afterReleaseMs / 1000).toFixed(2)} s`);
      expect(afterReleaseMs).to.be.at.least(0);
      // At its next jittered retry: far sooner than a lease duration, with room for a busy machine.
      expect(afterReleaseMs).to.be.below(2.2 * RETRY_MS + 2_000);
      await standby.waitForLog('became leader');
    });
  });

  context('when a lease request of the standby gets no answer', function () {
    let proxy: TcpProxy | undefined;

    afterEach(async function () {
      await proxy?.close();
      proxy = undefined;
    });

    it('should give up on it and still take over once the leader dies', async function () {
      const leader = startReplica('replica-direct', namespace);
      replicas = [leader];
      await leader.waitForLog('became leader');
      const server = new URL(kc.getCurrentCluster()!.server);
      proxy = new TcpProxy({ host: server.hostname, port: Number(server.port) });
      await proxy.start();
      const standby = startReplica('replica-proxied', namespace, [], proxy.kubeconfigFile(kc));
      replicas.push(standby);
      await eventually('the proxied standby to be ready', async () =>
        (await standby.probe('/readyz')).status === 200 ? true : undefined,
      );

      // Its next lease read is sent and never answered; later ones get through.
      proxy.mute();
      await eventually('a lease request of the standby to go unanswered', () =>
        proxy!.muted > 0 ? true : undefined,
      );
      proxy.allow();
      leader.kill('SIGKILL');
      await leader.exited;
      const last = (await readLease(namespace, LEASE))!;

      // The unanswered attempt costs up to the renew deadline (10 s) before it is abandoned; the
      // HTTP client alone would wait 300 s for the response headers.
      const taken = await waitForLease(
        namespace,
        LEASE,
        `taken over by ${standby.identity}`,
        (l) => l.holder === standby.identity,
        LATEST_TAKEOVER_MS + 10_000 + 2.2 * RETRY_MS + 5_000,
      );
      const afterLastRenewMs = taken.acquireTime! - last.renewTime!;
      console.log(`      takeover ${(afterLastRenewMs / 1000).toFixed(2)} s after the last renewal`);
      expect(afterLastRenewMs).to.be.at.least(LEASE_MS - 100);
    });
  });
});
