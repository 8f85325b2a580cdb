#!/usr/bin/env node
// dist/ holds the CommonJS build while the repository itself is "type": "module": this nested
// package.json tells Node (and TypeScript) that dist/**/*.js and *.d.ts are CommonJS.
import { writeFileSync } from 'node:fs';

writeFileSync(new URL('../dist/package.json', import.meta.url), JSON.stringify({ type: 'commonjs' }, null, 2) + '\n');
