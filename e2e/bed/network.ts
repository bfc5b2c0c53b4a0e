// A veth pair with a private address, so that virt-api can sit behind a Service: the API server
// dials Service endpoints, and Endpoints/EndpointSlices refuse loopback addresses.
import { execFileSync } from 'node:child_process';
import { hostNetwork } from './layout.ts';

function ip(args: string[], allowFailure = false): boolean {
  try {
    execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    return true;
  } catch (error) {
    if (allowFailure) return false;
    throw new Error(
      `bed: ip ${args.join(' ')} failed: ${(error as { stderr?: Buffer }).stderr?.toString().trim()}`,
    );
  }
}

export function hostNetworkUp(): boolean {
  return ip(['addr', 'show', 'dev', hostNetwork.hostSideLink], true);
}

export function ensureHostNetwork(): void {
  if (hostNetworkUp()) return;
  const { namespace, hostSideLink, peerSideLink, hostAddress, peerAddress, prefixLength } = hostNetwork;
  ip(['netns', 'add', namespace], true);
  ip(['link', 'add', hostSideLink, 'type', 'veth', 'peer', 'name', peerSideLink]);
  ip(['link', 'set', peerSideLink, 'netns', namespace]);
  ip(['addr', 'add', `${hostAddress}/${prefixLength}`, 'dev', hostSideLink]);
  ip(['link', 'set', hostSideLink, 'up']);
  ip(['-n', namespace, 'addr', 'add', `${peerAddress}/${prefixLength}`, 'dev', peerSideLink]);
  ip(['-n', namespace, 'link', 'set', peerSideLink, 'up']);
  ip(['-n', namespace, 'link', 'set', 'lo', 'up']);
}

export function removeHostNetwork(): void {
  ip(['link', 'del', hostNetwork.hostSideLink], true);
  ip(['netns', 'del', hostNetwork.namespace], true);
}
