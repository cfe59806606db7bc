import { type EndpointAddress, selectProvider, TransportError } from '@collective/transport';
import { envSetting } from '@collective/transport/runtime';

export type ConnectorChoice = 'auto' | 'shm' | 'net';
export const CONNECTOR_ENV = 'COLLECTIVE_CONNECTOR';
const CHOICES: readonly ConnectorChoice[] = ['auto', 'shm', 'net'];

/** options.connector, else COLLECTIVE_CONNECTOR, else auto. */
export function connectorChoice(option: unknown, env: string | undefined = envSetting(CONNECTOR_ENV)): ConnectorChoice {
  if (option !== undefined) {
    if (!CHOICES.includes(option as ConnectorChoice)) throw new TransportError('EINVAL', `options.connector must be one of ${CHOICES.join(', ')} (got ${String(option)})`);
    return option as ConnectorChoice;
  }
  if (env === undefined || env === '') return 'auto';
  if (!CHOICES.includes(env as ConnectorChoice)) throw new TransportError('EINVAL', `${CONNECTOR_ENV} must be one of ${CHOICES.join(', ')} (got ${env})`);
  return env as ConnectorChoice;
}

/** Where a rank lives, as the provider table sees it: its pool's id and identity. */
export function locality(pool: number, identity: string): EndpointAddress {
  return { provider: 'shm', pool, identity, slot: -1, gen: 0 };
}

/**
 * The connector for a peer (NCCL's transport table): the first provider
 * whose canConnect accepts both ends carries it; a shm provider means
 * loads and stores through mappings unless net is forced, anything else
 * means the net connector over that provider.
 */
export function chooseConnector(choice: ConnectorChoice, mine: EndpointAddress, theirs: EndpointAddress, peer: number): 'shm' | 'net' {
  const provider = selectProvider(mine, theirs);
  if (provider.name !== 'shm') {
    if (choice === 'shm') throw new TransportError('EINVAL', `connector 'shm' was forced but rank ${peer} is not in this process's pool; use 'auto' or 'net'`);
    return 'net';
  }
  return choice === 'net' ? 'net' : 'shm';
}
