// Copies non-TypeScript sources that modules read at run time (SQL migrations, the complexity
// router's model) into dist/,
// mirroring their place under src/.
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const ASSET = /\.sql$|^complexity-model\.json$/;

function copyAssets(from, to) {
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) copyAssets(source, target);
    else if (ASSET.test(entry.name)) cpSync(source, target);
  }
}

copyAssets('src', 'dist');
