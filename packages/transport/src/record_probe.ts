import { BufferField, ExportField, ExportState } from './control_layout.js';
import { PAGE_SIZE } from './constants.js';
import { tables } from './pool_tables.js';
import type { Pool } from './pool.js';

/**
 * Allocation-free reads of buffer and export records, for the runtime's
 * hot paths: a cached registration is checked against these on every call
 * (freed, revoked, moved) without a lock or an object.
 */
export const bufferProbe = {
  isLive(pool: Pool, slot: number, gen: number): boolean {
    return tables(pool).buffers.isLive(slot, gen);
  },
  gen(pool: Pool, slot: number): number {
    return tables(pool).buffers.get(slot, BufferField.GEN);
  },
  ownerFreed(pool: Pool, slot: number): boolean {
    return tables(pool).buffers.get(slot, BufferField.OWNER_FREED) !== 0;
  },
  revoked(pool: Pool, slot: number): boolean {
    return tables(pool).buffers.get(slot, BufferField.REVOKED) !== 0;
  },
  epoch(pool: Pool, slot: number): number {
    return tables(pool).buffers.get(slot, BufferField.EPOCH);
  },
  /** pool byte offset of the buffer's first byte (changes when it moves) */
  offset(pool: Pool, slot: number): number {
    return tables(pool).buffers.get(slot, BufferField.FIRST_PAGE) * PAGE_SIZE;
  },
  bytes(pool: Pool, slot: number): number {
    return tables(pool).buffers.get(slot, BufferField.PAGES) * PAGE_SIZE;
  },
  device(pool: Pool, slot: number): number {
    return tables(pool).buffers.get(slot, BufferField.DEVICE);
  },
  /** Index in pool.ctl of a field a hot path re-reads on every call, computed once. */
  wordIndex(pool: Pool, slot: number, field: 'ownerFreed' | 'revoked'): number {
    return tables(pool).buffers.addr(slot, field === 'ownerFreed' ? BufferField.OWNER_FREED : BufferField.REVOKED);
  },
};

export const exportProbe = {
  /** The export is the one issued as (slot, gen), not revoked, and its exporter still holds it. */
  usable(pool: Pool, slot: number, gen: number): boolean {
    const { exports } = tables(pool);
    return exports.isLive(slot, gen) && exports.get(slot, ExportField.STATE) === ExportState.LIVE && exports.get(slot, ExportField.EXPORTER_RELEASED) === 0;
  },
  revoked(pool: Pool, slot: number): boolean {
    return tables(pool).exports.get(slot, ExportField.STATE) === ExportState.REVOKED;
  },
  bufferSlot(pool: Pool, slot: number): number {
    return tables(pool).exports.get(slot, ExportField.BUFFER);
  },
  /**
   * Indices in pool.ctl of what an importer re-checks on every use of an
   * export (its generation, state and exporter-released flag, and its
   * buffer's move epoch), computed once so the check is four plain loads.
   */
  wordIndices(pool: Pool, slot: number): { gen: number; state: number; released: number; epoch: number } {
    const { exports, buffers } = tables(pool);
    const buffer = exports.get(slot, ExportField.BUFFER);
    return {
      gen: exports.addr(slot, ExportField.GEN),
      state: exports.addr(slot, ExportField.STATE),
      released: exports.addr(slot, ExportField.EXPORTER_RELEASED),
      epoch: buffers.addr(buffer, BufferField.EPOCH),
    };
  },
};
