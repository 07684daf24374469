// Architecture and naming checks tsc cannot make: src/core imports nothing from the rest of the
// project (or outside node:), file names are kebab-case, no provider names are branched on in the
// core, and no object literal inside a function has a getter or setter.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

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

// An object literal with `get x() {…}` evaluated per call gets a hidden class of its own each
// time (the accessor is a new closure). V8 keeps maps in old space, so every such object keeps
// its closure's context (a whole request, say) alive through scavenges until a mark-compact: at
// 1,000 req/s four of them promoted 16 % of everything the gateway allocated (docs/performance.md).
// Use a class with a prototype getter. An object made once (a factory's return value) may opt
// out with `// lint-allow-literal-accessor: <why>` on the line before the literal.
const ALLOW = 'lint-allow-literal-accessor';
for (const file of files('src')) {
  if (!file.endsWith('.ts')) continue;
  const text = readFileSync(file, 'utf8');
  if (!/\b[gs]et\s+[\w$]+\s*\(/.test(text)) continue;
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const lines = text.split('\n');
  const visit = (node, inFunction) => {
    if ((ts.isGetAccessorDeclaration(node) || ts.isSetAccessorDeclaration(node)) && ts.isObjectLiteralExpression(node.parent) && inFunction) {
      const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const literal = source.getLineAndCharacterOfPosition(node.parent.getStart(source)).line;
      if (!lines[literal - 1]?.includes(ALLOW)) problems.push(`${relative('.', file)}:${line + 1}: accessor in an object literal made per call; use a class (see scripts/lint.mjs)`);
    }
    const entersFunction = ts.isFunctionLike(node) && !ts.isGetAccessorDeclaration(node) && !ts.isSetAccessorDeclaration(node);
    ts.forEachChild(node, (child) => visit(child, inFunction || entersFunction));
  };
  visit(source, false);
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log('lint: layout and naming ok');
