#!/usr/bin/env node
// The installed entry point runs the compiled CLI; `npm start` builds it first.
import '../dist/cli/main.js';
