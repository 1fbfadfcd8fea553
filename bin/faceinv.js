#!/usr/bin/env node
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const entry = path.join(__dirname, '..', 'out', 'daemon', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  console.error(`faceinv: ${entry} is missing; run "npm run build" in ${path.join(__dirname, '..')} first.`);
  process.exit(2);
}
require(entry).main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(`faceinv: ${err && err.message ? err.message : err}`); process.exitCode = 1; },
);
