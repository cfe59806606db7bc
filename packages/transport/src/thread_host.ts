// The first module of every Web Worker the browser side of platform.ts
// starts: it learns the thread's id and data, then imports the thread's
// module (see platform_browser.ts startThread).
import { hostThread } from './platform_browser.js';

hostThread();
