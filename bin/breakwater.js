#!/usr/bin/env node
// The installed entry point runs the production bundle through its launcher (code cache and all);
// `npm start` builds it first.
import '../dist/breakwater.cjs';
