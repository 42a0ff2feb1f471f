#!/usr/bin/env node
// `npm test`: type check, lint and vitest for every project through Nx, then one closing line
// "N passed, N failed" summed over the projects' vitest JSON reports, so CI logs show the total.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const packageJson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const projectDirs = [];
for (const pattern of packageJson.workspaces) {
  const base = path.join(root, pattern.replace(/\/\*$/, ''));
  if (!pattern.endsWith('/*')) projectDirs.push(base);
  else if (existsSync(base))
    for (const entry of (await import('node:fs')).readdirSync(base, { withFileTypes: true }))
      if (entry.isDirectory() && existsSync(path.join(base, entry.name, 'package.json')))
        projectDirs.push(path.join(base, entry.name));
}
const reportOf = (dir) => path.join(dir, '.vitest-report.json');
for (const dir of projectDirs) rmSync(reportOf(dir), { force: true });

const nx = spawnSync(
  'npx',
  [
    'nx',
    'run-many',
    '-t',
    'typecheck',
    'lint',
    'test',
    '--output-style=static',
    '--parallel=2',
    ...process.argv.slice(2),
  ],
  { cwd: root, stdio: 'inherit' },
);

let passed = 0;
let failed = 0;
let skipped = 0;
const lines = [];
for (const dir of projectDirs) {
  if (!existsSync(reportOf(dir))) continue;
  const report = JSON.parse(readFileSync(reportOf(dir), 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + (report.numTodoTests ?? 0);
  lines.push(
    `  ${path.relative(root, dir).padEnd(28)} ${report.numPassedTests} passed, ${report.numFailedTests} failed`,
  );
}
process.stdout.write(`\nTest summary by project:\n${lines.join('\n')}\n`);
if (nx.status !== 0 && failed === 0)
  process.stdout.write('(a type check, lint or test task failed: see above)\n');
process.stdout.write(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(nx.status ?? 1);
