import { fail } from '../errors.js';
import type { Capability, EndpointAddress, FabricInfo, Provider, ProviderName } from './provider.js';
import { providers } from './provider_table.js';

export interface InfoHints {
  provider?: ProviderName;
  caps?: Capability[];
}

/** fi_getinfo: the providers that satisfy the hints, best first. */
export function getInfo(hints: InfoHints = {}): FabricInfo[] {
  if (hints.provider !== undefined && hints.provider !== 'shm' && hints.provider !== 'tcp') {
    fail('EINVAL', `hints.provider must be 'shm' or 'tcp' (got ${String(hints.provider)})`);
  }
  const found = providers
    .map((p) => p.info())
    .filter((i) => hints.provider === undefined || i.provider === hints.provider)
    .filter((i) => (hints.caps ?? []).every((c) => i.caps.includes(c)));
  if (found.length === 0) {
    const wanted = hints.provider ? `provider '${hints.provider}'` : 'any provider';
    fail('ENOENT', `no ${wanted} offers caps [${(hints.caps ?? []).join(', ')}] in this build`);
  }
  return found;
}

export function providerFor(name: ProviderName): Provider {
  return providers.find((p) => p.name === name) ?? fail('ENOENT', `provider '${name}' is not built into this runtime`);
}

/** The provider that can carry traffic between two endpoints, or a clear refusal. */
export function selectProvider(local: EndpointAddress, remote: EndpointAddress): Provider {
  return (
    providers.find((p) => p.canConnect(local, remote)) ??
    fail(
      'ENOTCONN',
      `no provider can connect ${local.provider}:${local.pool} to ${remote.provider}:${remote.pool}; shm needs both in one process, tcp needs both tcp in different processes`,
    )
  );
}
