// Benchmark upstream: the simulated provider over HTTP in its own process, so its CPU never
// shares an event loop with what is measured. Prints {"event":"ready","url":…} on stdout.
import { startSimServer } from '../src/sim/sim-server.js';
import { exitWithParent } from './exit-with-parent.js';

const timeScale = Number(process.env.BENCH_SIM_TIME_SCALE ?? '0');
const server = await startSimServer({ port: 0, host: '127.0.0.1', seed: 1, timeScale });
process.stdout.write(JSON.stringify({ event: 'ready', url: server.url, pid: process.pid }) + '\n');
exitWithParent();
