// The browser side of platform.ts (see there): Web Workers as threads,
// crypto.getRandomValues, navigator.hardwareConcurrency. A page has no
// environment, no files and no process; what needs those (the tcp
// provider, the stores, the launcher) is not in the browser build.
import type * as NodeSide from './platform.js';

export const platformName: 'node' | 'browser' = 'browser';

export type PlatformThread = NodeSide.PlatformThread;

type Listener = (value: any) => void;
type ThreadEvent = 'message' | 'error' | 'exit';

/** What a thread's starter sends first: who it is and what to run. */
interface ThreadInit {
  id: number;
  /** the page's thread-id counter, shared by every thread that starts threads */
  counter: SharedArrayBuffer;
  module: string;
  data: unknown;
}

/** Wraps every message, so the thread's own 'exit' notice cannot be mistaken for one. */
type Envelope = { message: unknown } | { exit: string };

/** The little of a Web Worker used here (the build has no DOM types). */
interface WebWorker {
  postMessage(value: unknown): void;
  terminate(): void;
  onmessage: ((ev: { data: any }) => void) | null;
  onerror: ((ev: { message?: string; preventDefault(): void }) => void) | null;
}

const scope = globalThis as unknown as {
  postMessage?: (v: unknown) => void;
  close?: () => void;
  addEventListener?: (type: string, fn: (ev: any) => void) => void;
  navigator?: { hardwareConcurrency?: number };
  location?: { hostname?: string; href?: string };
  Worker?: new (url: URL, options: { type: 'module'; name: string }) => WebWorker;
};

let thisThread = 0;
/** word 0: the last thread id handed out in this page; made by the first thread to start one (the page) */
let counter: Int32Array | undefined;
let data: unknown;
const parentListeners: { fn: Listener; once: boolean }[] = [];
/** messages that came before anyone listened (a module still loading): Node's parentPort queues them too */
const early: unknown[] = [];
const startListeners: ((t: PlatformThread) => void)[] = [];

class BrowserThread implements PlatformThread {
  private readonly listeners = new Map<ThreadEvent, { fn: Listener; once: boolean }[]>();
  private exited = false;

  constructor(
    readonly threadId: number,
    private readonly worker: WebWorker,
  ) {
    worker.onmessage = (ev) => {
      const e = ev.data as Envelope;
      if ('exit' in e) this.die(new Error(e.exit), 1);
      else this.emit('message', e.message);
    };
    // An uncaught error ends a Node worker; here the Worker would live on, so it is ended too.
    worker.onerror = (ev) => {
      ev.preventDefault();
      this.die(new Error(ev.message || 'the worker failed to load or threw'), 1);
    };
  }

  private die(error: Error | undefined, code: number): void {
    if (this.exited) return;
    this.exited = true;
    this.worker.terminate();
    if (error) this.emit('error', error);
    this.emit('exit', code);
  }

  private emit(event: ThreadEvent, value: unknown): void {
    const list = this.listeners.get(event);
    if (!list) return;
    for (const l of [...list]) {
      if (l.once) list.splice(list.indexOf(l), 1);
      l.fn(value);
    }
  }

  postMessage(value: unknown): void {
    if (!this.exited) this.worker.postMessage({ message: value } satisfies Envelope);
  }

  on(event: ThreadEvent, fn: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), { fn, once: false }]);
    return this;
  }

  once(event: ThreadEvent, fn: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), { fn, once: true }]);
    return this;
  }

  off(event: ThreadEvent, fn: Listener): this {
    const list = this.listeners.get(event) ?? [];
    const i = list.findIndex((l) => l.fn === fn);
    if (i >= 0) list.splice(i, 1);
    return this;
  }

  /** Ends the worker at once (Web Workers stop even inside Atomics.wait). */
  terminate(): Promise<number> {
    this.die(undefined, 1);
    return Promise.resolve(1);
  }
}

export function currentThreadId(): number {
  return thisThread;
}

export function hostName(): string {
  return scope.location?.hostname || 'browser';
}

/** A page has no process id; every thread of the page reports the same one. */
export function processId(): number {
  return 0;
}

export function cpuCount(): number {
  return scope.navigator?.hardwareConcurrency ?? 1;
}

/** A page has no environment: every setting has its default. */
export function envSetting(_name: string): string | undefined {
  return undefined;
}

export function logLine(text: string): void {
  console.error(text);
}

/** A browser timer never keeps a page alive. */
export function unrefTimer(_timer: ReturnType<typeof setTimeout>): void {}

export function randomFill(words: Uint32Array): void {
  crypto.getRandomValues(words);
}

/**
 * Starts `module` in a module Web Worker. The worker first runs
 * thread_host.js, which takes its id and data from the first message and
 * then imports `module`: the module's top level can read threadData() as
 * a Node worker reads workerData.
 */
export function startThread(module: URL, threadData: unknown): PlatformThread {
  counter ??= new Int32Array(new SharedArrayBuffer(4));
  const id = Atomics.add(counter, 0, 1) + 1;
  if (!scope.Worker) throw new Error('startThread: this page or worker has no Worker constructor');
  const worker = new scope.Worker(new URL('./thread_host.js', import.meta.url), { type: 'module', name: `collective thread ${id}` });
  const init: ThreadInit = { id, counter: counter.buffer as SharedArrayBuffer, module: module.href, data: threadData };
  worker.postMessage(init);
  const thread = new BrowserThread(id, worker);
  for (const l of startListeners) l(thread);
  return thread;
}

export function threadData(): unknown {
  return data;
}

export function onParentMessage(listener: Listener): void {
  if (thisThread === 0) throw new Error('onParentMessage: this is the page, which has no parent');
  parentListeners.push({ fn: listener, once: false });
  for (const m of early.splice(0)) listener(m);
}

export function nextParentMessage(): Promise<unknown> {
  if (thisThread === 0) return Promise.reject(new Error('nextParentMessage: this is the page, which has no parent'));
  if (early.length > 0) return Promise.resolve(early.shift());
  return new Promise((resolve) => parentListeners.push({ fn: resolve, once: true }));
}

export function postToParent(value: unknown): void {
  if (thisThread === 0) throw new Error('postToParent: this is the page, which has no parent');
  scope.postMessage!({ message: value } satisfies Envelope);
}

export function onThreadStart(listener: (thread: PlatformThread) => void): void {
  startListeners.push(listener);
}

export function readTextFile(path: string): string {
  throw new Error(`a web page has no files: cannot read ${path}`);
}

export function writeTextFile(dir: string, name: string, _text: string): string {
  throw new Error(`a web page has no files: cannot write ${dir}/${name}`);
}

/** In a page a module is a URL, relative ones against the page's. */
export function moduleHref(module: string): string {
  return new URL(module, scope.location?.href).href;
}

/** A page cannot look for a file; import() reports a missing module. */
export function missingModuleFile(_href: string): string | undefined {
  return undefined;
}

/** @internal thread_host.js: takes the first message, then runs the thread's module. */
export function hostThread(): void {
  let started = false;
  scope.addEventListener!('message', (ev: { data: unknown }) => {
    if (!started) {
      started = true;
      const init = ev.data as ThreadInit;
      thisThread = init.id;
      counter = new Int32Array(init.counter);
      data = init.data;
      import(init.module).catch((e: Error) => {
        scope.postMessage!({ exit: `${init.module} failed: ${e?.message ?? String(e)}` } satisfies Envelope);
        scope.close!();
      });
      return;
    }
    const m = (ev.data as { message: unknown }).message;
    if (parentListeners.length === 0) early.push(m);
    for (const l of parentListeners.splice(0)) {
      if (!l.once) parentListeners.push(l);
      l.fn(m);
    }
  });
}

/** @internal every export of the Node side with its type: a missing or different one fails the build */
export const sameAsNodeSide = {
  platformName,
  currentThreadId,
  hostName,
  processId,
  cpuCount,
  envSetting,
  logLine,
  unrefTimer,
  randomFill,
  startThread,
  threadData,
  onParentMessage,
  nextParentMessage,
  postToParent,
  onThreadStart,
  readTextFile,
  writeTextFile,
  moduleHref,
  missingModuleFile,
} satisfies typeof NodeSide;
