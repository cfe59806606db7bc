import { DmaBuf, type Attachment, type Mapping, type Pool } from '@collective/transport';
import { bufferProbe, exportProbe } from '@collective/transport/runtime';
import { CollectiveError } from '../comm_errors.js';

interface Import {
  gen: number;
  dmabuf: DmaBuf;
  attachment: Attachment;
  mapping: Mapping;
  /** pool offset of the export's first byte, through the mapping */
  base: number;
  size: number;
  stale: boolean;
  /** where the export's generation, state, released flag and the buffer's epoch live in pool.ctl */
  at: { gen: number; state: number; released: number; epoch: number };
}

const LIVE = 1;

/**
 * A rank's imports of its shm peers' registered buffers: each export is
 * imported once (import, dynamic attachment, pin, map) and reused while
 * the exporter keeps it; every use checks it is still the same, live,
 * unrevoked export before loads or stores go through its mapping.
 */
export class PeerImports {
  private readonly byExport = new Map<number, Import>();

  constructor(
    private readonly pool: Pool,
    /** how errors name peer q: the rank the user knows (a hierarchy's step groups number theirs differently) */
    private readonly name: (q: number) => string = (q) => `rank ${q}`,
  ) {}

  /** Pool offset of the first byte of peer `q`'s export (slot, gen), for `what` in errors. */
  resolve(q: number, slot: number, gen: number, size: number, what: string): number {
    let imp = this.byExport.get(slot);
    if (imp && (imp.gen !== gen || imp.stale)) {
      this.drop(slot, imp);
      imp = undefined;
    }
    if (!imp) imp = this.open(q, slot, gen, size, what);
    // Our import holds the export, so these words stay its own while we look.
    const ctl = this.pool.ctl;
    const at = imp.at;
    if (ctl[at.gen] !== gen || Atomics.load(ctl, at.state) !== LIVE || Atomics.load(ctl, at.released) !== 0 || Atomics.load(ctl, at.epoch) !== imp.mapping.epoch) {
      this.drop(slot, imp);
      throw new CollectiveError('EIO', `${this.name(q)}'s ${what} buffer is no longer registered (revoked, moved or released by its owner)`);
    }
    return imp.base;
  }

  private open(q: number, slot: number, gen: number, size: number, what: string): Import {
    let dmabuf: DmaBuf;
    try {
      dmabuf = DmaBuf.import(this.pool, { kind: 'dmabuf', pool: this.pool.id, slot, gen, size });
    } catch (e) {
      throw new CollectiveError('EIO', `${this.name(q)}'s ${what} buffer cannot be imported: ${(e as Error).message}`);
    }
    const entry = { gen, size, stale: false } as Import;
    const attachment = dmabuf.attach({ dynamic: true, invalidateMappings: () => (entry.stale = true) });
    attachment.pin();
    const mapping = attachment.map();
    Object.assign(entry, { dmabuf, attachment, mapping, base: mapping.segments[0]!.offset, at: exportProbe.wordIndices(this.pool, slot) });
    this.byExport.set(slot, entry);
    return entry;
  }

  private drop(slot: number, imp: Import): void {
    this.byExport.delete(slot);
    // Release detaches: the mapping, pin and attachment go with it.
    imp.dmabuf.release();
  }

  /** Lets go of imports whose exporter released, revoked or freed them, so their pages can be reused. */
  sweep(): void {
    for (const [slot, imp] of this.byExport) {
      const bufferSlot = exportProbe.bufferSlot(this.pool, slot);
      if (imp.stale || !exportProbe.usable(this.pool, slot, imp.gen) || bufferProbe.ownerFreed(this.pool, bufferSlot)) this.drop(slot, imp);
    }
  }

  close(): void {
    for (const [slot, imp] of this.byExport) this.drop(slot, imp);
  }
}
