export { RendezvousError, type RendezvousErrorCode } from './errors.js';
export { type Store, type StoreValue, StoreError, toBytes, valueToString, DEFAULT_STORE_TIMEOUT_MS } from './store.js';
export { HashStore } from './hash_store.js';
export { FileStore, type FileStoreOptions } from './file_store.js';
export { PrefixStore } from './prefix_store.js';
export { TCPStore, type TCPStoreOptions } from './tcp_store.js';
export { TCPStoreServer, type TCPStoreServerOptions, type TCPStoreServerStats } from './tcp_store_server.js';
export { type StoreDialect, VALIDATION_MAGIC } from './tcp_store_codec.js';
export { expandNodelist, expandTasksPerNode } from './slurm_nodelist.js';
export { resolveLaunchEnv, derivePort, type LaunchEnv, type LaunchStoreSpec, type LauncherName, type DialectChoice, type ResolveContext } from './launch_env.js';
export { openLaunchStore, type LaunchStore, type LaunchStoreOptions } from './launch_store.js';
export { JOB_SECRET_ENV, JOB_SECRET_FILE_ENV, jobSecretFromEnv, jobSecretOfText, newJobSecretText } from './job_secret.js';
export { storeListenAddress, type StoreListenOptions } from './store_listen.js';
export { hostIdentity, type HostIdentity } from './host_identity.js';
export {
  bootstrapJob,
  deriveTopology,
  BOOTSTRAP_VERSION,
  type BootstrapOptions,
  type JobTopology,
  type RankRecord,
  type HostGroup,
  type JsonValue,
} from './job_bootstrap.js';
export { rendezvous, type Rendezvous, type RendezvousOptions } from './rendezvous.js';
