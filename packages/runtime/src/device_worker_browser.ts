// A device thread of a World in a page: device_worker.js's run() behind
// the messages device_threads_browser.ts posts (piscina does this in Node).
import { onParentMessage, postToParent } from '@collective/transport/runtime';
import run from './device_worker.js';
import type { WorldTask } from './world_task.js';

export type DeviceReply = { id: number } & ({ ok: true; result: { rank: number; value: unknown } } | { ok: false; name: string; message: string });

onParentMessage((m: { id: number; task: WorldTask }) => {
  run(m.task).then(
    (result) => postToParent({ id: m.id, ok: true, result } satisfies DeviceReply),
    (e: Error) => postToParent({ id: m.id, ok: false, name: e?.name ?? 'Error', message: e?.message ?? String(e) } satisfies DeviceReply),
  );
});
