// usage: node build_official.mjs OUTDIR
// Bundles the official Phoenix LiveView client from npm (phoenix_live_view + its phoenix peer,
// pinned in package.json) behind the usual app.js bootstrap, IIFE and minified, to
// OUTDIR/official.<sha256[:12]>.js, adds {"official.js": "<file>"} to OUTDIR/manifest.json
// (keeping its other keys), removes older official bundles and prints the size. No size limit:
// it only serves `salamander --official-client`, the compatibility tests' server.
// build.mjs calls buildOfficial() after our own bundle, so `make` builds both.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, renameSync } from "node:fs";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

// What a Phoenix app's assets/js/app.js does, minus hooks and topbar.
const ENTRY = `import {Socket} from "phoenix";
import {LiveSocket} from "phoenix_live_view";
const csrf = document.querySelector("meta[name='csrf-token']").getAttribute("content");
const liveSocket = new LiveSocket("/live", Socket, {params: {_csrf_token: csrf}});
liveSocket.connect();
window.liveSocket = liveSocket;
`;

// Reads OUTDIR/manifest.json (or {}), sets key to file, writes it back atomically.
export function mergeManifest(out, key, file) {
  const path = join(out, "manifest.json");
  let manifest = {};
  if (existsSync(path)) {
    try {
      manifest = JSON.parse(readFileSync(path, "utf8"));
    } catch {
      manifest = {};
    }
  }
  manifest[key] = file;
  const tmp = join(out, ".manifest.json.tmp");
  writeFileSync(tmp, JSON.stringify(manifest) + "\n");
  renameSync(tmp, path);
}

// One IIFE bundle, minified for the browser: its code, content-hashed file name and gzipped size.
export async function bundle(entry, prefix) {
  const result = await build({
    ...entry,
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
  return { code, name: `${prefix}.${hash}.js`, gz: gzipSync(code, { level: 9 }).length };
}

// Writes the bundle into OUTDIR atomically, records it in the manifest under `key` and removes
// the older bundles of the same prefix.
export function install(out, prefix, key, { code, name }) {
  mkdirSync(out, { recursive: true });
  const tmp = join(out, `.${name}.tmp`);
  writeFileSync(tmp, code);
  renameSync(tmp, join(out, name));
  mergeManifest(out, key, name);
  const old = new RegExp(`^${prefix}\\.[0-9a-f]+\\.js$`);
  for (const f of readdirSync(out)) if (old.test(f) && f !== name) rmSync(join(out, f));
}

export async function buildOfficial(out) {
  const b = await bundle({ stdin: { contents: ENTRY, resolveDir: here, sourcefile: "official_entry.js", loader: "js" } },
                         "official");
  console.log(`official client bundle: ${b.code.length} bytes minified, ${b.gz} bytes gzipped (${join(out, b.name)})`);
  install(out, "official", "official.js", b);
  return b.name;
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  const out = process.argv[2];
  if (!out) {
    console.error("usage: node build_official.mjs OUTDIR");
    process.exit(2);
  }
  await buildOfficial(out);
}
