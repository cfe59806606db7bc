import { shmProvider } from '../providers/shm/provider.js';
import type { Provider } from './provider.js';

/**
 * The provider table of a page's build: shm alone. A page has no sockets,
 * so the tcp provider (and its listener thread) is not in it; asking for
 * 'tcp' there is refused as a provider not built into this runtime.
 */
export const providers: readonly Provider[] = [shmProvider];
