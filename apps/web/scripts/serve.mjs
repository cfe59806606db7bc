// Serves the demo with the headers that make a page cross-origin isolated
// (COOP same-origin, COEP require-corp): without them a browser has no
// SharedArrayBuffer, and the pool is one. `pnpm web` builds and runs this.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb } from './build.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json', '.png': 'image/png' };

/** Serves `dist` (the bundle) and the page; resolves to the server and its URL. */
export function serve({ dist = join(here, '..', 'bundle'), port = 0, host = '127.0.0.1' } = {}) {
  const page = join(here, '..', 'src', 'index.html');
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = path === '/' ? page : normalize(join(dist, path));
    if (file !== page && !file.startsWith(dist)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
        'Cache-Control': 'no-store',
      });
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const a = server.address();
      resolve({ server, url: `http://${host}:${a.port}/` });
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildWeb();
  const { url } = await serve({ port: Number(process.env.PORT ?? 8080), host: process.env.HOST ?? '127.0.0.1' });
  console.log(`collective-bench in a web page: ${url}`);
}
