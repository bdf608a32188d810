// usage: node build.mjs OUTDIR
// Bundles src/index.js (IIFE, minified, es2019) to OUTDIR/salamander.<sha256[:12]>.js, writes
// OUTDIR/manifest.json {"salamander.js": "<file>"} (keeping its other keys), removes older bundles,
// prints the sizes and fails above 50 KB minified or 15 KB gzipped. Then builds the official
// phoenix_live_view client for `salamander --official-client` (build_official.mjs, no size limit).
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { mkdirSync, readdirSync, rmSync, writeFileSync, renameSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { buildOfficial, mergeManifest } from "./build_official.mjs";

const MAX_MIN = 50 * 1024;
const MAX_GZ = 15 * 1024;
const here = dirname(fileURLToPath(import.meta.url));
const out = process.argv[2];
if (!out) {
  console.error("usage: node build.mjs OUTDIR");
  process.exit(2);
}

const result = await build({
  entryPoints: [join(here, "src/index.js")],
  bundle: true,
  format: "iife",
  minify: true,
  target: "es2019",
  platform: "browser",
  legalComments: "none",
  write: false,
  logLevel: "warning",
});
const code = result.outputFiles[0].contents;
const hash = createHash("sha256").update(code).digest("hex").slice(0, 12);
const name = `salamander.${hash}.js`;
const gz = gzipSync(code, { level: 9 }).length;

console.log(`client bundle: ${code.length} bytes minified, ${gz} bytes gzipped (${join(out, name)})`);
if (code.length > MAX_MIN || gz > MAX_GZ) {
  console.error(`client bundle too large: limits are ${MAX_MIN} bytes minified and ${MAX_GZ} bytes gzipped`);
  process.exit(1);
}

mkdirSync(out, { recursive: true });
const tmp = join(out, `.${name}.tmp`);
writeFileSync(tmp, code);
renameSync(tmp, join(out, name));
mergeManifest(out, "salamander.js", name);
for (const f of readdirSync(out)) if (/^salamander\.[0-9a-f]+\.js$/.test(f) && f !== name) rmSync(join(out, f));

await buildOfficial(out);

