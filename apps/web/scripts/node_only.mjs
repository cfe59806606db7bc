// What must not reach a page's bundle: Node's modules, the Node side of
// the platform module and of the World's threads, the tcp/Unix-socket
// provider, the user's cookie reader, @collective/rendezvous (stores, the
// job secret's readers, launch environments, rendezvous), piscina and the
// CLI with its launcher.
const NODE_ONLY = [
  /^node:/,
  /(^|\/)transport\/dist\/platform\.js$/,
  /(^|\/)runtime\/dist\/device_threads\.js$/,
  /(^|\/)transport\/dist\/fabric\/provider_table\.js$/,
  /(^|\/)providers\/tcp\//,
  /(^|\/)transport\/dist\/user_cookie\.js$/,
  /(^|\/)rendezvous\/dist\//,
  /(^|\/)piscina\//,
  /(^|\/)apps\/cli\//,
];

/** The inputs of an esbuild metafile, and the outputs' external imports, that are Node-only. */
export function nodeOnlyParts(metafile) {
  const inputs = Object.keys(metafile.inputs).filter((i) => NODE_ONLY.some((re) => re.test(i)));
  const externals = Object.values(metafile.outputs).flatMap((o) => o.imports.filter((im) => im.external).map((im) => im.path));
  return [...new Set([...inputs, ...externals])].sort();
}
