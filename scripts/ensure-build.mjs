// Builds when any source is newer than the last build (or Node changed, which voids the code
// cache), so `npm start` works on a fresh clone and stays instant afterwards: tsc emits dist/
// (library entry, types, what tests and docs run), then scripts/build-bundle.mjs the production
// CLI (dist/breakwater.cjs).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const stamp = 'dist/.build-stamp';
const BUILD_INPUTS = ['tsconfig.json', 'package.json', 'scripts/build-bundle.mjs', 'scripts/bundle-launcher.cjs', 'scripts/copy-assets.mjs'];

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const mtime = entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs;
    if (mtime > newest) newest = mtime;
  }
  return newest;
}

const sourceTime = Math.max(newestMtime('src'), ...BUILD_INPUTS.map((file) => statSync(file).mtimeMs));
const builtFor = existsSync(stamp) ? readFileSync(stamp, 'utf8').split('\n')[1] : undefined;
if (!existsSync(stamp) || statSync(stamp).mtimeMs < sourceTime || builtFor !== process.version) {
  process.stderr.write('building breakwater (tsc, then the bundle)…\n');
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/copy-assets.mjs'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/build-bundle.mjs'], { stdio: 'inherit' });
  writeFileSync(stamp, `${new Date().toISOString()}\n${process.version}\n`);
}
