// Builds the production CLI: one CommonJS bundle (dist/breakwater-bundle.cjs), its launcher
// (dist/breakwater.cjs, from scripts/bundle-launcher.cjs) and a V8 code cache made by one warm-up
// start. Resolving and compiling ~500 separate modules cost more at start-up than the code in
// them, and compiling the bundle still costs ~100 ms that the cache saves (SPEC PERF-3; figures in
// docs/benchmarks.md). esbuild comes with tsx: nothing new to install. tsc still typechecks and
// builds dist/ for the library entry and the tests.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { build } from 'esbuild';

/** The production entry point: `node dist/breakwater.cjs start`. */
export const LAUNCHER = 'dist/breakwater.cjs';
const BUNDLE = 'dist/breakwater-bundle.cjs';
const MIGRATIONS = 'src/store/migrations/sqlite';
const POSTGRES_MIGRATIONS = 'src/store/migrations/postgres';
const BUILD_ID_PLACEHOLDER = '0'.repeat(16);

/** The .sql files stay the only source; the bundle carries their text (see src/store/migrations/sqlite.ts). */
function migrationFiles(folder = MIGRATIONS) {
  return readdirSync(folder)
    .filter((file) => file.endsWith('.sql'))
    .sort()
    .map((file) => ({ file, sql: readFileSync(join(folder, file), 'utf8') }));
}

/**
 * zod re-exports ~60 translations of its error messages (~370 kB) that Breakwater never selects;
 * only English, zod's default, stays in the bundle.
 */
const englishOnlyZod = {
  name: 'english-only-zod',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]/.test(args.importer) ? { path: join(args.importer, '../../locales/en.js'), namespace: 'zod-english' } : undefined,
    );
    esbuild.onLoad({ filter: /.*/, namespace: 'zod-english' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};`,
      resolveDir: process.cwd(),
    }));
  },
};

const MODULE_URL = 'breakwater:module-url';

/** CommonJS has no import.meta: `import.meta.url` becomes the bundle's own URL, as in a compiled module. */
const moduleUrl = {
  name: 'module-url',
  setup(esbuild) {
    esbuild.onResolve({ filter: /^breakwater:module-url$/ }, () => ({ path: MODULE_URL, namespace: 'module-url' }));
    esbuild.onLoad({ filter: /.*/, namespace: 'module-url' }, () => ({
      contents: "export const breakwaterModuleUrl = require('node:url').pathToFileURL(__filename).href;",
      loader: 'js',
    }));
  },
};

/**
 * Node 20 cannot resolve import() in code that V8 restored from a code cache (the callback it
 * needs is not in the cache), so the imports esbuild cannot bundle — a non-literal specifier: a
 * custom validator's path — go through the launcher, an ordinary module that can import:
 * `import(x)` becomes `__breakwaterImport(x)`, a parameter of the launcher's wrapper. So does the
 * import() of an external package (the tokenizer, the tracing SDK).
 */
const runtimeImports = {
  name: 'runtime-imports',
  setup(esbuild) {
    esbuild.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, async (args) => ({
      contents: (await readFile(args.path, 'utf8'))
        .replace(/(?<![\w.$])import\((?!\s*['"`])/g, '__breakwaterImport(')
        // External packages imported on demand resolve from node_modules at run time, the same way.
        .replace(/(?<![\w.$]|typeof )import\((?=\s*['"`](gpt-tokenizer|@opentelemetry\/))/g, '__breakwaterImport('),
      loader: 'ts',
    }));
  },
};

async function bundle() {
  const result = await build({
    entryPoints: ['src/cli/main.ts'],
    outfile: BUNDLE,
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node20',
    // Native and optional drivers load from node_modules when used. So do the tokenizer (4 MB of
    // encoding tables, loaded in the background on first need) and the tracing SDK (only with
    // OTEL_EXPORTER_OTLP_ENDPOINT): in the bundle, every start would read them for nothing (PERF-3).
    external: ['better-sqlite3', 'pg', '@redis/client', 'gpt-tokenizer', '@opentelemetry/*'],
    plugins: [englishOnlyZod, moduleUrl, runtimeImports],
    inject: [MODULE_URL],
    banner: { js: `// breakwater-build ${BUILD_ID_PLACEHOLDER}` },
    define: {
      'import.meta.url': 'breakwaterModuleUrl',
      BREAKWATER_SQLITE_MIGRATIONS: JSON.stringify(migrationFiles()),
      BREAKWATER_POSTGRES_MIGRATIONS: JSON.stringify(migrationFiles(POSTGRES_MIGRATIONS)),
      // A string literal, parsed when the router is first used (src/routing/complexity-router.ts).
      BREAKWATER_COMPLEXITY_MODEL: JSON.stringify(readFileSync('src/routing/complexity-model.json', 'utf8')),
      // The dashboard serves htmx as a static file (src/server/dashboard-assets.ts).
      BREAKWATER_HTMX: JSON.stringify(readFileSync('node_modules/htmx.org/dist/htmx.min.js', 'utf8')),
    },
    sourcemap: 'linked',
    metafile: true,
    write: false,
    logLevel: 'warning',
  });
  for (const file of result.outputFiles) {
    if (!file.path.endsWith('.cjs')) {
      writeFileSync(file.path, file.contents);
      continue;
    }
    // The launcher reads the bundle as latin1 (one-byte strings are the cheapest to load), which is
    // only right for pure ASCII. esbuild escapes strings but leaves some regex literals and
    // comments as written; \uXXXX means the same character in strings, regexes, templates and
    // identifiers, and is harmless in comments.
    const text = file.text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    // Same length as the placeholder, so the source map still lines up.
    const buildId = createHash('sha256').update(file.contents).digest('hex').slice(0, BUILD_ID_PLACEHOLDER.length);
    writeFileSync(file.path, text.replace(`// breakwater-build ${BUILD_ID_PLACEHOLDER}`, `// breakwater-build ${buildId}`));
  }
  writeFileSync('dist/breakwater-bundle.meta.json', JSON.stringify(result.metafile));
}

function cleanEnvironment() {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    // Real keys or upstreams would make the warm-up start reach the network.
    if (name.startsWith('BREAKWATER_') || name.endsWith('_API_KEY') || name === 'NODE_OPTIONS') continue;
    env[name] = value;
  }
  return { ...env, BREAKWATER_SIM__TIME_SCALE: '0', BREAKWATER_WRITE_CODE_CACHE: '1' };
}

async function warmUp(url, key) {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const messages = [{ role: 'user', content: 'Hello' }];
  const answers = [
    await fetch(`${url}/readyz`),
    await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model: 'sim-fast', messages, max_tokens: 16 }) }),
    await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify({ model: 'sim-fast', messages, max_tokens: 16, stream: true }) }),
  ];
  for (const answer of answers) {
    await answer.text();
    if (answer.status !== 200) throw new Error(`${answer.url} answered ${answer.status}`);
  }
}

/**
 * Starts the bundle once on a throwaway data dir, serves a completion and a stream, and stops it:
 * the launcher writes the code cache on exit with every function compiled by then.
 */
async function writeCodeCache() {
  const dataDir = mkdtempSync(join(tmpdir(), 'breakwater-code-cache-'));
  const child = spawn(process.execPath, [resolve(LAUNCHER), 'start', '--port', '0', '--host', '127.0.0.1', '--json', '--data-dir', dataDir], {
    cwd: dataDir,
    env: cleanEnvironment(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (data) => (stderr += data));
  const exited = new Promise((done) => child.once('exit', done));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    let ready;
    for await (const line of createInterface({ input: child.stdout })) {
      if (line.startsWith('{"event":"ready"')) {
        ready = JSON.parse(line);
        break;
      }
    }
    if (!ready) throw new Error(`the warm-up start exited before it was ready: ${stderr.trim().slice(-500)}`);
    child.stdout.resume();
    await warmUp(ready.url, ready.virtualKey);
    child.kill('SIGTERM');
    const code = await exited;
    if (code !== 0) throw new Error(`the warm-up start exited with ${code}: ${stderr.trim().slice(-500)}`);
  } finally {
    clearTimeout(timer);
    child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Bundles, installs the launcher and writes the code cache; a failed warm-up only costs the cache. */
export async function buildBundle() {
  mkdirSync('dist', { recursive: true });
  for (const file of readdirSync('dist', { withFileTypes: true })) {
    if (/^breakwater-bundle\..*\.cache(\.\d+\.tmp)?$/.test(file.name)) rmSync(join('dist', file.name));
  }
  await bundle();
  copyFileSync('scripts/bundle-launcher.cjs', LAUNCHER);
  try {
    await writeCodeCache();
  } catch (error) {
    process.stderr.write(`warning: no code cache for ${BUNDLE}, starts will compile from source: ${error.message}\n`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await buildBundle();
