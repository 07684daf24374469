'use strict';
// The production entry point, copied to dist/breakwater.cjs by scripts/build-bundle.mjs: runs the
// CommonJS bundle next to it with V8's code cache, so a start skips parsing and compiling the
// code it runs (~100 ms on a 2-core VM; SPEC PERF-3). Node 20 has no compile cache for ES modules,
// hence CommonJS and vm.Script. The build writes the cache for a plain `node` after a warm-up
// start; V8 rejects a cache made under other V8 flags (e.g. --max-old-space-size), so each Node
// version and flag set has its own file, written here after a while when missing or rejected
// (best effort: a read-only install just compiles from source). BREAKWATER_CODE_CACHE=off
// disables it; BREAKWATER_WRITE_CODE_CACHE=1 writes the cache on exit (the build's warm-up).
const { readFileSync, renameSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { join } = require('node:path');
const { Script } = require('node:vm');

/** How long a process serves before it writes a missing cache: long enough to compile the request path. */
const WRITE_AFTER_MS = 15_000;

/** FNV-1a, 32 bits: a file-name key, not a security boundary (and no node:crypto to load). */
function fnv1a(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}

const bundlePath = join(__dirname, 'breakwater-bundle.cjs');
let source;
try {
  // esbuild writes ASCII only, and a one-byte string is the cheapest to read.
  source = readFileSync(bundlePath, 'latin1');
} catch (error) {
  process.stderr.write(`breakwater: cannot read ${bundlePath} (${error.code ?? error.message}); run \`npm run build\`\n`);
  process.exit(1);
}

const useCache = process.env.BREAKWATER_CODE_CACHE !== 'off';
// The build id names the cache, so a cache never meets a bundle it was not made from.
const buildId = /^\/\/ breakwater-build ([0-9a-f]+)$/m.exec(source.slice(0, 256))?.[1] ?? 'unknown';
const flags = fnv1a(`${process.version} ${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`);
const cachePath = join(__dirname, `breakwater-bundle.${buildId}.${flags}.cache`);
let cachedData;
if (useCache) {
  try {
    cachedData = readFileSync(cachePath);
  } catch {
    // None yet for this Node and these flags: compile from source, write one below.
  }
}

// CommonJS's wrapper plus one parameter: V8 restores cached code without what Node needs to
// resolve import(), so the bundle imports through this module instead (see build-bundle.mjs).
const wrapped = `(function (exports, require, module, __filename, __dirname, __breakwaterImport) {${source.replace(/^#!.*/, '')}\n});`;
const script = new Script(wrapped, { filename: bundlePath, cachedData });

function writeCache() {
  const temporary = `${cachePath}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, script.createCachedData());
    renameSync(temporary, cachePath);
  } catch {
    // A read-only install: every start compiles from source, which is only slower.
  }
}

if (process.env.BREAKWATER_WRITE_CODE_CACHE === '1') process.on('exit', writeCache);
else if (useCache && (!cachedData || script.cachedDataRejected)) setTimeout(writeCache, WRITE_AFTER_MS).unref();

const bundleModule = new Module(bundlePath, module);
bundleModule.filename = bundlePath;
const importModule = (specifier) => import(specifier);
script.runInThisContext()(bundleModule.exports, Module.createRequire(bundlePath), bundleModule, bundlePath, __dirname, importModule);
