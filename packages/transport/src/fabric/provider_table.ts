import { shmProvider } from '../providers/shm/provider.js';
import { tcpProvider } from '../providers/tcp/provider.js';
import type { Provider } from './provider.js';

/**
 * The provider table, in order of preference (NCCL's transport table):
 * the first that can connect two endpoints carries their traffic. shm
 * serves one process (one pool), tcp everything else. A page's build
 * uses provider_table_browser.ts instead (package.json's "browser" map).
 */
export const providers: readonly Provider[] = [shmProvider, tcpProvider];
