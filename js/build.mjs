// usage: node build.mjs OUTDIR
// Bundles src/index.js (IIFE, minified, es2019) to OUTDIR/salamander.<sha256[:12]>.js, writes
// OUTDIR/manifest.json {"salamander.js": "<file>"} (keeping its other keys), removes older bundles,
// prints the sizes and fails above 50 KB minified or 15 KB gzipped. Then builds the official
// phoenix_live_view client for `salamander --official-client` (build_official.mjs, no size limit).
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { buildOfficial, bundle, install } from "./build_official.mjs";

const MAX_MIN = 50 * 1024;
const MAX_GZ = 15 * 1024;
const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error("usage: node build.mjs OUTDIR");
  process.exit(2);
}

const b = await bundle({ entryPoints: [join(here, "src/index.js")] }, "salamander");
console.log(`client bundle: ${b.code.length} bytes minified, ${b.gz} bytes gzipped (${join(out, b.name)})`);
if (b.code.length > MAX_MIN || b.gz > MAX_GZ) {
  console.error(`client bundle too large: limits are ${MAX_MIN} bytes minified and ${MAX_GZ} bytes gzipped`);
  process.exit(1);
}
install(out, "salamander", "salamander.js", b);

await buildOfficial(out);
