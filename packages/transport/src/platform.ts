// What differs between Node and a web page, in one module with two sides:
// this one (Node) and platform_browser.ts. A bundler for the browser picks
// that side through package.json ("browser" map and export condition);
// nothing else of the in-process part imports a `node:` module, so the
// pool, the providers' shm side, the communicators and the streams run
// unchanged in Web Workers. Both sides export the same names and types
// (platform_browser.ts checks it at compile time).
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism as cores, hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parentPort, threadId, Worker, workerData } from 'node:worker_threads';

/** Which side this is. */
export const platformName: 'node' | 'browser' = 'node';

/**
 * A thread started with startThread(): a Node Worker, or in a page a Web
 * Worker behind the same small surface. 'exit' fires however it ends
 * (terminate(), an uncaught error, the thread closing itself).
 */
export interface PlatformThread {
  readonly threadId: number;
  postMessage(value: unknown): void;
  on(event: 'message' | 'error' | 'exit', listener: (value: any) => void): this;
  once(event: 'message' | 'error' | 'exit', listener: (value: any) => void): this;
  off(event: 'message' | 'error' | 'exit', listener: (value: any) => void): this;
  terminate(): Promise<number>;
}

/** This thread's id: 0 for the main thread, unique among the threads of the process (or page), never reused. */
export function currentThreadId(): number {
  return threadId;
}

export function hostName(): string {
  return osHostname();
}

export function processId(): number {
  return process.pid;
}

export function cpuCount(): number {
  return cores();
}

/** An environment setting (COLLECTIVE_*), or undefined. */
export function envSetting(name: string): string | undefined {
  return process.env[name];
}

/** One diagnostic line (COLLECTIVE_DEBUG): stderr here, the console in a page. */
export function logLine(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** Lets the process exit while `timer` is pending (a no-op where timers never keep anything alive). */
export function unrefTimer(timer: ReturnType<typeof setTimeout>): void {
  timer.unref();
}

export function randomFill(words: Uint32Array): void {
  randomFillSync(words);
}

/** Starts `module` (a built .js file's URL) in a thread of its own with `data` as its threadData(). */
export function startThread(module: URL, data: unknown): PlatformThread {
  return new Worker(module, { workerData: data });
}

/** The data this thread was started with (undefined on the main thread). */
export function threadData(): unknown {
  return workerData;
}

/** Receives what the thread's starter posts to it. */
export function onParentMessage(listener: (value: any) => void): void {
  if (!parentPort) throw new Error('onParentMessage: this is the main thread, which has no parent');
  parentPort.on('message', listener);
}

/** The next message from the thread's starter. */
export function nextParentMessage(): Promise<unknown> {
  const port = parentPort;
  if (!port) return Promise.reject(new Error('nextParentMessage: this is the main thread, which has no parent'));
  return new Promise((resolve) => port.once('message', resolve));
}

export function postToParent(value: unknown): void {
  if (!parentPort) throw new Error('postToParent: this is the main thread, which has no parent');
  parentPort.postMessage(value);
}

/** Calls `listener` for every thread this thread starts from now on, however it is started. */
export function onThreadStart(listener: (thread: PlatformThread) => void): void {
  process.on('worker', listener);
}

/** The text of a file (a tuning table); the browser has no files. */
export function readTextFile(path: string): string {
  return readFileSync(path, 'utf8');
}

/** Writes `text` to `dir`/`name` (a flight record), making `dir`; returns the path. */
export function writeTextFile(dir: string, name: string, text: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The URL of a module given as a string: in Node a path or a file: URL. */
export function moduleHref(module: string): string {
  return module.startsWith('file:') ? module : pathToFileURL(module).href;
}

/** The file a file: module URL names when that file does not exist (launch() says so before any device starts). */
export function missingModuleFile(href: string): string | undefined {
  if (!href.startsWith('file:')) return undefined;
  const path = fileURLToPath(href);
  return existsSync(path) ? undefined : path;
}
