// Architecture and naming checks tsc cannot make: src/core imports nothing from the rest of the
// project (or outside node:), file names are kebab-case, and no provider names are branched on
// in the core.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const problems = [];

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else yield path;
  }
}

const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*(\.test|\.d)?\.(ts|mjs|sql)$|^\d{4}_[a-z0-9_]+\.sql$/;
for (const root of ['src', 'test', 'bench']) {
  let list;
  try {
    list = [...files(root)];
  } catch {
    continue;
  }
  for (const file of list) {
    const name = file.split('/').pop();
    if (!KEBAB.test(name) && !name.endsWith('.json') && !name.endsWith('.md')) problems.push(`${file}: file names are kebab-case`);
  }
}

for (const file of files('src/core')) {
  const text = readFileSync(file, 'utf8');
  for (const match of text.matchAll(/from\s+'([^']+)'/g)) {
    const target = match[1];
    const inside = target.startsWith('./') || target.startsWith('node:');
    if (!inside) problems.push(`${relative('.', file)}: core must not import '${target}'`);
  }
  if (/provider\s*===?\s*['"]/.test(text)) problems.push(`${relative('.', file)}: core must not branch on provider names`);
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('lint: layout and naming ok');
