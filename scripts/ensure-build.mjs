// Builds dist/ with tsc when any source file is newer than the last build, so `npm start` works
// on a fresh clone and stays instant afterwards.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const stamp = 'dist/.build-stamp';

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const mtime = entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs;
    if (mtime > newest) newest = mtime;
  }
  return newest;
}

const sourceTime = Math.max(newestMtime('src'), statSync('tsconfig.json').mtimeMs, statSync('package.json').mtimeMs);
if (!existsSync(stamp) || statSync(stamp).mtimeMs < sourceTime) {
  process.stderr.write('building breakwater (tsc)…\n');
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], { stdio: 'inherit' });
  execFileSync(process.execPath, ['scripts/copy-assets.mjs'], { stdio: 'inherit' });
  writeFileSync(stamp, new Date().toISOString() + '\n');
}
