// busbw of all_reduce in headless Chromium (Web Workers) against Node
// (worker threads, collective-bench) on this machine, in one run: 2 and 4
// devices, 8 B to 32 MiB (×4), the CLI's defaults otherwise (5 warm-up
// iterations, 25 ms per size and mode). Prints the README's tables.
//   node apps/web/scripts/figures.mjs
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { World } from '@collective/runtime';
import { buildWeb } from './build.mjs';
import { serve } from './serve.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const cli = join(here, '..', '..', 'cli', 'dist', 'main.js');
const MAX = 32 << 20;
const tmp = mkdtempSync(join(tmpdir(), 'collective-web-figures-'));

function nodeRows(devices) {
  const json = join(tmp, `node-${devices}.json`);
  execFileSync(process.execPath, [cli, 'all_reduce', '-b', '8', '-e', String(MAX), '-f', '4', '-g', String(devices), '--json', json, '--no-progress'], { stdio: 'ignore', timeout: 120_000 });
  return JSON.parse(readFileSync(json, 'utf8')).rows;
}

async function nodeStartMs(devices) {
  const t = performance.now();
  const w = await World.start({ devices, poolBytes: 64 << 20 });
  const ms = performance.now() - t;
  await w.close();
  return ms;
}

await buildWeb(join(tmp, 'bundle'));
const { server, url } = await serve({ dist: join(tmp, 'bundle') });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction(() => globalThis.collectiveWeb?.ready, null, { timeout: 30_000 });
  // The smallest step performance.now() takes in this (cross-origin isolated) page.
  const tick = await page.evaluate(() => {
    let min = Infinity;
    for (let i = 0; i < 200_000; i++) {
      const a = performance.now();
      let b = performance.now();
      while (b === a) b = performance.now();
      min = Math.min(min, b - a);
      if (min < 1e-3) break;
    }
    return min * 1000;
  });
  const mainWait = await page.evaluate(() => {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
      return 'allowed';
    } catch (e) {
      return `refused (${e.constructor.name})`;
    }
  });
  console.log(`Chromium ${browser.version()}, Node ${process.version}; page timer step ${tick.toFixed(1)} µs; Atomics.wait on the page's main thread: ${mainWait}\n`);
  for (const devices of [2, 4]) {
    const node = nodeRows(devices);
    const web = await page.evaluate(
      ({ devices, max }) => globalThis.collectiveWeb.runBench({ collective: 'all_reduce', devices, minBytes: 8, maxBytes: max, factor: 4, warmup: 5, minTimeMs: 25 }),
      { devices, max: MAX },
    );
    const startNode = await nodeStartMs(devices);
    console.log(`all_reduce, ${devices} devices (World.start: Node ${startNode.toFixed(0)} ms, browser ${web.startupMs.toFixed(0)} ms)\n`);
    console.log('| size | Node busbw (GB/s) | browser busbw (GB/s) | browser / Node | #wrong (Node, browser) |');
    console.log('|---:|---:|---:|---:|---:|');
    for (const [i, w] of web.rows.entries()) {
      const n = node[i];
      const size = w.bytes >= 1 << 20 ? `${w.bytes >> 20} MiB` : w.bytes >= 1024 ? `${w.bytes >> 10} KiB` : `${w.bytes} B`;
      console.log(`| ${size} | ${n.outBusbw.toFixed(3)} | ${w.outBusbw.toFixed(3)} | ${(w.outBusbw / n.outBusbw).toFixed(2)} | ${n.outWrong + n.inWrong}, ${w.outWrong + w.inWrong} |`);
    }
    console.log('');
  }
} finally {
  await browser.close();
  server.close();
  rmSync(tmp, { recursive: true, force: true });
}
