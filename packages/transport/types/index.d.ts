// The package's type entry: the compiled declarations plus the WebAssembly
// names they use, so a consumer's compile needs nothing from this repository.
/// <reference path="./webassembly.d.ts" />
export * from '../dist/index.js';
