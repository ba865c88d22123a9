/**
 * A real redis-server for the job-queue tests and benchmark: started on a free loopback port in a
 * temporary folder, without persistence, and stopped with its folder removed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_SERVER = process.env.SKELPRUNE_REDIS_SERVER ?? '/usr/bin/redis-server';

/** A skip reason when redis-server is absent (scripts/install-test-programs.sh installs it). */
export const skipWithoutRedis: string | false = existsSync(REDIS_SERVER)
  ? false
  : `no redis-server at ${REDIS_SERVER}: run scripts/install-test-programs.sh (or set SKELPRUNE_REDIS_SERVER)`;

/** A free TCP port on the loopback interface (free when asked; nothing holds it after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  /** `redis://127.0.0.1:<port>/0`, or `rediss://` with TLS, with the password when one is set. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** Required of every client (`requirepass`). */
  password?: string;
  /** Serve TLS only, with this certificate and key (PEM files). */
  tls?: { cert: string; key: string };
}

/** Starts redis-server on a free loopback port; resolves once it accepts connections. */
export async function startRedis({ password, tls }: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'skelprune-redis-'));
  const listen = tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key]
    : ['--port', String(port)];
  const args = [
    ...listen,
    ...['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    ...(tls ? ['--tls-auth-clients', 'no'] : []),
    ...(password ? ['--requirepass', password] : []),
  ];
  const child = spawn(REDIS_SERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  await ready(child);
  const auth = password ? `:${password}@` : '';
  return {
    url: `${tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}/0`,
    port,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves when redis-server logs that it accepts connections; rejects with its log if it exits. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start in 10 s:\n${log}`)), 10_000);
    const read = (chunk: Buffer) => {
      log += chunk;
      if (log.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', read);
    child.stderr!.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited (${code}):\n${log}`));
    });
  });
}
