import { AttachField, BufferField, DeviceField, EndpointField, ExportField, FenceField, MrField, ResvField } from './control_layout.js';
import { RecordTable } from './record_table.js';
import type { Pool } from './pool.js';

export interface PoolTables {
  devices: RecordTable;
  buffers: RecordTable;
  exports: RecordTable;
  attachments: RecordTable;
  fences: RecordTable;
  mrs: RecordTable;
  endpoints: RecordTable;
}

const cache = new WeakMap<Pool, PoolTables>();

export function tables(pool: Pool): PoolTables {
  let t = cache.get(pool);
  if (!t) {
    const { ctl, layout } = pool;
    const c = layout.caps;
    t = {
      devices: new RecordTable(ctl, layout.devices, DeviceField.SIZE, c.devices, 'device'),
      buffers: new RecordTable(ctl, layout.buffers, BufferField.SIZE, c.buffers, 'buffer'),
      exports: new RecordTable(ctl, layout.exports, ExportField.SIZE, c.exports, 'dma-buf'),
      attachments: new RecordTable(ctl, layout.attachments, AttachField.SIZE, c.attachments, 'attachment'),
      fences: new RecordTable(ctl, layout.fences, FenceField.SIZE, c.fences, 'fence'),
      mrs: new RecordTable(ctl, layout.mrs, MrField.SIZE, c.mrs, 'memory region'),
      endpoints: new RecordTable(ctl, layout.endpoints, EndpointField.SIZE, c.endpoints, 'endpoint'),
    };
    cache.set(pool, t);
  }
  return t;
}

/** Word index of reservation entry `i` of buffer `slot`. */
export function resvEntry(pool: Pool, bufferSlot: number, i: number): number {
  return pool.layout.resv + (bufferSlot * pool.layout.caps.fencesPerBuffer + i) * ResvField.SIZE;
}
