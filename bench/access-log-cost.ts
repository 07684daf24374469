// CPU per request of the access log (SPEC OBS-4, issue 10): one line per request through the
// gateway's own fast formatter into a pino destination like the default one (asynchronous, 4 KiB
// batches), here writing to /dev/null. `npm run bench` prints it in the components phase.
import { pino } from 'pino';
import { createAccessLog, type AccessLogEntry } from '../src/server/access-log.js';

const destination = pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 });
const logger = pino({ level: 'info', base: undefined }, destination);
const log = createAccessLog(logger, destination);
const entry: AccessLogEntry = {
  requestId: 'req_0193c4d5e6f70123456789abcdef0123456789ab',
  method: 'POST',
  path: '/v1/chat/completions',
  status: 200,
  ms: 2.47,
  aborted: false,
  tenant: 'org:acme',
  route: 'model=gpt-4o-mini; strategy=ordered',
  servedBy: 'openai/gpt-4o-mini',
};

async function run(n: number): Promise<number> {
  const start = process.cpuUsage();
  for (let i = 0; i < n; i++) {
    log(entry);
    // A request per turn at most every so often: let the batched write go out as in the gateway.
    if (i % 64 === 63) await new Promise((resolve) => setImmediate(resolve));
  }
  log.flush();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / n;
}

await run(100_000);
const samples = [await run(500_000), await run(500_000), await run(500_000)].sort((a, b) => a - b);
console.log(`access log: ${samples[1]!.toFixed(3)} µs CPU per request line (median of 3 × 500,000; formatting and the write)`);
destination.flushSync();
