// The published declarations name WebAssembly.Memory (Pool.memory), and
// @types/node for Node 20 leaves the WebAssembly namespace to lib.dom. This
// declares the least that makes the name resolve for a consumer without
// lib.dom, written so it merges cleanly with lib.dom's declaration (and with
// the repository's fuller one in /types) when those are present.
declare namespace WebAssembly {
  interface Memory {
    grow(delta: number): number;
  }
}
