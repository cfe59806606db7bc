import { Pool } from '@collective/transport';
import { describe, expect, it } from 'vitest';
import { PeerImports } from '../src/registration/peer_imports.js';

// A hierarchy's step groups number their ranks their own way: an error about
// a peer's buffer must name the rank the user knows, as every other error does.
describe("an error about a peer's registered buffer", () => {
  it('names the peer as the communicator names it', () => {
    const pool = Pool.create({ bytes: 4 << 20 });
    const imports = new PeerImports(pool, (q) => `rank ${q + 4} (rank ${q} of the step's group)`);
    // No export was ever issued in that slot: the import fails, naming the peer.
    expect(() => imports.resolve(1, 3, 1, 65536, 'recv')).toThrow(/rank 5 \(rank 1 of the step's group\)'s recv buffer cannot be imported/);
    imports.close();
    const plain = new PeerImports(pool);
    expect(() => plain.resolve(1, 3, 1, 65536, 'send')).toThrow(/^EIO: rank 1's send buffer cannot be imported/);
    plain.close();
  });
});
