import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A Debian nginx running in the foreground of this test process. */
export interface NginxProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** nginx's error log so far (upstream timeouts are logged there). */
  errorLog(): string;
  close(): Promise<void>;
}

/** How to front the gateway. */
export interface NginxOptions {
  /** Origin of what nginx proxies to, e.g. the gateway's URL. */
  upstream: string;
  /** Extra directives for the proxied `location /` (e.g. `proxy_read_timeout 1s;`). */
  location?: string[];
}

/** The nginx binary, or undefined when it is not installed. */
export function findNginx(): string | undefined {
  for (const candidate of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (existsSync(candidate)) return candidate;
  const which = spawnSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : undefined;
}

/**
 * `test()` options for a test that needs nginx: skipped, loudly, when it is missing, unless
 * `BREAKWATER_REQUIRE_SERVICES=1` (CI), where a missing nginx must fail rather than pass unseen.
 */
export function nginxRequirement(): { skip?: string } {
  if (findNginx()) return {};
  const why = 'nginx is not installed (apt-get install nginx); the real-proxy stream tests did not run';
  if (process.env.BREAKWATER_REQUIRE_SERVICES === '1') throw new Error(`${why}, and BREAKWATER_REQUIRE_SERVICES=1 requires them`);
  process.stderr.write(`\n*** SKIPPED: ${why} ***\n\n`);
  return { skip: why };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * The whole config: one process (`master_process off`), everything it writes under `dir`, and
 * nginx's DEFAULT response buffering — the gateway's `X-Accel-Buffering: no` is what must turn it
 * off (SPEC ST-6, ST-10). `proxy_http_version 1.1` as every streaming guide tells operators to set.
 */
function nginxConfig(dir: string, port: number, options: NginxOptions): string {
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections 256; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/client-body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass ${options.upstream};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      ${(options.location ?? []).join('\n      ')}
    }
  }
}
`;
}

/** Starts nginx on a free loopback port in front of `options.upstream`; waits until it accepts. */
export async function startNginx(options: NginxOptions): Promise<NginxProxy> {
  const binary = findNginx();
  if (!binary) throw new Error('nginx is not installed');
  const dir = mkdtempSync(join(tmpdir(), 'bw-nginx-'));
  const port = await freePort();
  const configPath = join(dir, 'nginx.conf');
  writeFileSync(configPath, nginxConfig(dir, port, options));
  // -e: the error log before the config is read, so nothing touches /var/log/nginx.
  const child = spawn(binary, ['-p', dir, '-c', configPath, '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const errorLog = () => (existsSync(join(dir, 'error.log')) ? readFileSync(join(dir, 'error.log'), 'utf8') : '');
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(kill);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let waited = 0; !(await accepts(port)); waited += 20) {
    if (child.exitCode !== null || waited > 5000) {
      const log = errorLog();
      await close();
      throw new Error(`nginx did not start on port ${port}: ${stderr}${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { url: `http://127.0.0.1:${port}`, errorLog, close };
}
