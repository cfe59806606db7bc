// The demo page: collective-bench across Web Workers, with its table, a
// live chart and #wrong; window.collectiveWeb is what the browser test drives.
import { World } from '@collective/runtime';
import { COLLECTIVES } from '../../../packages/bench/dist/collectives.js';
import { wrongCount } from '../../../packages/bench/dist/format_table.js';
import { runBench } from './bench_page.js';
import { drawChart } from './chart.js';
import { drawLoss, trainInPage } from './train_page.js';

const $ = (id) => document.getElementById(id);
const moduleUrl = (name) => new URL(`./${name}.js`, import.meta.url);

/** Every collective on one World of `devices` workers, each checked value by value; #wrong per collective. */
async function checkAll(devices, maxBytes = 256 * 1024) {
  const world = await World.start({ devices, poolBytes: 64 * 1024 * 1024 });
  try {
    const sizes = await world.launch(moduleUrl('world_size'));
    const wrong = {};
    for (const collective of COLLECTIVES) {
      const { rows } = await runBench({ collective, world, minBytes: 8, maxBytes, factor: 8, iters: 2, minTimeMs: 1 });
      wrong[collective] = { wrong: wrongCount(rows), sizes: rows.length };
    }
    return { sizes, wrong };
  } finally {
    await world.close();
  }
}

/** The runtime's own revoked-buffer fixture (runtime/test/fixtures/revoked_buffer.ts), in Web Workers. */
async function revokedBuffer(registeredFirst) {
  const world = await World.start({ devices: 3, poolBytes: 16 * 1024 * 1024 });
  try {
    return await world.launch(moduleUrl('revoked_buffer'), { registeredFirst });
  } finally {
    await world.close();
  }
}

/** A device worker dies mid-collective: launch() must fail, naming the dead rank, and close() must still end the World. */
async function workerDeath() {
  const world = await World.start({ devices: 2, poolBytes: 16 * 1024 * 1024 });
  const t = performance.now();
  let error;
  try {
    await world.launch(moduleUrl('dying_rank'));
  } catch (e) {
    error = { message: e.message };
  }
  const failedAfterMs = performance.now() - t;
  await world.close();
  return { error, failedAfterMs };
}

/** Starts a World and hands it back open (the test counts the page's workers, then closes it). */
let held;
async function startWorld(devices) {
  held = await World.start({ devices, poolBytes: 16 * 1024 * 1024 });
  return (await held.launch(moduleUrl('world_size'))).length;
}
async function closeWorld() {
  await held?.close();
  held = undefined;
}

async function runFromForm(ev) {
  ev?.preventDefault();
  const rows = [];
  const lines = [];
  $('run').disabled = true;
  $('wrong').textContent = '…';
  $('wrong').className = '';
  $('status').textContent = 'running';
  drawChart($('chart'), rows);
  try {
    await runBench({
      collective: $('collective').value,
      devices: Number($('devices').value),
      minBytes: Number($('min').value),
      maxBytes: Number($('max').value),
      onLine: (l) => {
        lines.push(l);
        $('table').textContent = lines.join('\n');
      },
      onRow: (r) => {
        rows.push(r);
        drawChart($('chart'), rows);
        const w = wrongCount(rows);
        $('wrong').textContent = String(w);
        $('wrong').className = w === 0 ? 'ok' : 'bad';
      },
    });
    $('status').textContent = 'done';
  } catch (e) {
    $('status').textContent = `failed: ${e.message}`;
    throw e;
  } finally {
    $('run').disabled = false;
  }
  return rows;
}

async function trainFromForm(ev) {
  ev?.preventDefault();
  $('train').disabled = true;
  $('train-status').textContent = 'training';
  drawLoss($('loss'), []);
  try {
    const out = await trainInPage({ devices: Number($('train-devices').value), steps: Number($('train-steps').value), mode: $('train-mode').value });
    const r0 = out.ranks[0];
    drawLoss($('loss'), r0.losses);
    const same = out.ranks.every((r) => r.hashes.every((h, i) => h === r0.hashes[i]));
    $('train-status').textContent = `done: ${out.ranks.length} ranks, ${r0.losses.length} steps in ${out.ms.toFixed(0)} ms, loss ${r0.losses[0].toFixed(3)} → ${r0.losses.at(-1).toFixed(3)}, parameters ${same ? 'bitwise identical on every rank' : 'DIFFER between ranks'}`;
    return out;
  } catch (e) {
    $('train-status').textContent = `failed: ${e.message}`;
    throw e;
  } finally {
    $('train').disabled = false;
  }
}

if (typeof document !== 'undefined' && $('form')) {
  $('isolation').textContent = crossOriginIsolated
    ? 'cross-origin isolated: SharedArrayBuffer is available'
    : 'NOT cross-origin isolated: serve this page with COOP: same-origin and COEP: require-corp (pnpm web does)';
  for (const c of COLLECTIVES) $('collective').add(new Option(c, c));
  $('form').addEventListener('submit', (ev) => void runFromForm(ev).catch(() => {}));
  drawChart($('chart'), []);
  $('train-form').addEventListener('submit', (ev) => void trainFromForm(ev).catch(() => {}));
  drawLoss($('loss'), []);
}

globalThis.collectiveWeb = { World, runBench, checkAll, revokedBuffer, workerDeath, startWorld, closeWorld, runFromForm, trainInPage, trainFromForm, ready: true };
