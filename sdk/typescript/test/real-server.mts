// Starts the real `amp serve` from the binary named by AMP_BIN on a free
// loopback port with a fresh data directory, and runs its admin CLI against
// the same directory.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Why the real-server tests cannot run here, or false when they can. */
export function skipReason(): string | false {
  const bin = process.env.AMP_BIN;
  if (!bin) {
    return 'AMP_BIN is not set: build the server (go build -o /tmp/amp ./cmd/amp) and set AMP_BIN=/tmp/amp to run these tests';
  }
  if (!existsSync(bin)) return `AMP_BIN=${bin} does not exist`;
  return false;
}

/** The environment for the binary: AMP_* of the test run (a Postgres URL, say) must not leak in. */
function cleanEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('AMP_')) delete env[k];
  return env;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export class RealServer {
  #output = '';
  #exited = false;

  private constructor(
    readonly bin: string,
    readonly dataDir: string,
    readonly origin: string,
    readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.#output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.#output += d.toString()));
    child.on('exit', () => (this.#exited = true));
  }

  /** The base URL of the API, /v1 included. */
  get baseUrl(): string {
    return `${this.origin}/v1`;
  }

  /** What the server printed so far, for failure messages. */
  get output(): string {
    return this.#output;
  }

  static async start(bin: string): Promise<RealServer> {
    const dataDir = await mkdtemp(join(tmpdir(), 'amp-sdk-ts-'));
    const port = await freePort();
    const child = spawn(bin, ['serve', '--addr', `127.0.0.1:${port}`, '--data', dataDir], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const server = new RealServer(bin, dataDir, `http://127.0.0.1:${port}`, child);
    // Readiness: poll /healthz, at most 30 s, failing early if it exits.
    for (let i = 0; i < 600; i++) {
      if (server.#exited) break;
      try {
        const res = await fetch(`${server.origin}/healthz`);
        if (res.ok) return server;
      } catch {
        // not listening yet
      }
      await delay(50);
    }
    await server.stop();
    throw new Error(`amp serve did not become healthy on port ${port}:\n${server.output}`);
  }

  /** Runs `amp <args…> --data DIR` and returns its stdout, trimmed. */
  async cli(...args: string[]): Promise<string> {
    try {
      const { stdout } = await run(this.bin, [...args, '--data', this.dataDir], { env: cleanEnv() });
      return stdout.trim();
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`amp ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`);
    }
  }

  async createAccount(name: string, plan: string): Promise<string> {
    return this.cli('accounts', 'create', '--name', name, '--plan', plan);
  }

  async createKey(account: string, ...extra: string[]): Promise<string> {
    return this.cli('keys', 'create', '--account', account, '--mode', 'test', ...extra);
  }

  /** Freezes the process: the kernel still accepts connections, nothing answers. */
  pause(): void {
    this.child.kill('SIGSTOP');
  }

  resume(): void {
    this.child.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    if (!this.#exited) {
      const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
      this.child.kill('SIGCONT');
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(this.dataDir, { recursive: true, force: true });
  }
}
