// A throwaway project that uses @amp-protocol/client the way an integrator
// does: the package linked into its node_modules, the docs' snippets and the
// example agent compiled by tsc in strict mode against the published .d.ts,
// and run by node as separate programs configured only through AMP_* env.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** sdk/typescript: build-test/consumer.mjs is one level below it. */
export const PKG_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SNIPPETS = join(PKG_ROOT, 'test', 'snippets');
const EXAMPLE = resolve(PKG_ROOT, '..', '..', 'examples', 'typescript', 'agent.ts');
/** The docs page the authentication snippet is copied from, beside the repository. */
export const AUTH_PAGE = resolve(PKG_ROOT, '..', '..', '..', 'shared', 'reference', 'authentication.txt');

export async function snippet(name: string): Promise<string> {
  return readFile(join(SNIPPETS, name), 'utf8');
}

/** The programs the consumer project builds, each a concatenation of snippets as written. */
const PROGRAMS: Record<string, string[]> = {
  // The authentication page's client set-up, then the docs' examples.
  'docs.ts': ['authentication.ts', 'get-context.ts', 'report-outcome.ts', 'update-profile.ts'],
  // The landing page's constructor form with AMP_KEY.
  'landing.ts': ['landing.ts', 'get-context.ts'],
};

const COMMONJS = `// A CommonJS consumer: compiled to require('@amp-protocol/client').
import { AMP, AMPError } from '@amp-protocol/client';

const amp = new AMP({ apiKey: process.env.AMP_API_KEY });
amp
  .getContext({ userId: 'user_cjs', task: 'check the CommonJS build' })
  .then((ctx) => console.log(JSON.stringify({ requestId: ctx.requestId, isAMPError: new AMPError({ code: 'X', message: 'y' }) instanceof Error })));
`;

const TSCONFIG = {
  compilerOptions: {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    types: ['node'],
    // Our .d.ts files come from tsc itself; checking all of @types/node
    // again would only slow the suite.
    skipLibCheck: true,
    rootDir: '.',
    outDir: 'out',
  },
  include: ['*.ts', '*.cts'],
};

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Where the project is built: outside the package, because its node_modules
 * links back to the package; one directory per checkout.
 */
export const CONSUMER_DIR = join(
  tmpdir(),
  `amp-ts-consumer-${createHash('sha256').update(PKG_ROOT).digest('hex').slice(0, 12)}`,
);

export class Consumer {
  private constructor(readonly dir: string) {}

  /**
   * Creates the project afresh and compiles every program; tsc errors
   * reject. `npm run build:test` runs it (build-consumer.mts), so that the
   * test files share one compile.
   */
  static async build(dir = CONSUMER_DIR): Promise<Consumer> {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await mkdir(join(dir, 'node_modules', '@amp-protocol'), { recursive: true });
    await mkdir(join(dir, 'node_modules', '@types'), { recursive: true });
    await symlink(PKG_ROOT, join(dir, 'node_modules', '@amp-protocol', 'client'), 'dir');
    await symlink(join(PKG_ROOT, 'node_modules', '@types', 'node'), join(dir, 'node_modules', '@types', 'node'), 'dir');
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await writeFile(join(dir, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    for (const [name, parts] of Object.entries(PROGRAMS)) {
      const texts = await Promise.all(parts.map(snippet));
      await writeFile(join(dir, name), texts.join('\n'));
    }
    await writeFile(join(dir, 'commonjs.cts'), COMMONJS);
    await copyFile(EXAMPLE, join(dir, 'agent.ts'));

    const tsc = join(PKG_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    try {
      await run(process.execPath, [tsc, '-p', dir], { cwd: dir });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string };
      throw new Error(`the consumer project does not type-check:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
    return new Consumer(dir);
  }

  /** The project `npm run build:test` built. */
  static open(dir = CONSUMER_DIR): Consumer {
    if (!existsSync(join(dir, 'out', 'docs.js'))) {
      throw new Error(`no consumer project in ${dir}: run \`npm run build:test\` first`);
    }
    return new Consumer(dir);
  }

  /**
   * Runs a compiled program (e.g. 'docs.js') with only the given AMP_*
   * variables set, feeding it stdin.
   */
  run(program: string, env: Record<string, string>, stdin = '', args: string[] = []): Promise<RunResult> {
    const base: Record<string, string | undefined> = { ...process.env };
    for (const k of Object.keys(base)) if (k.startsWith('AMP_')) delete base[k];
    return new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, [join(this.dir, 'out', program), ...args], {
        cwd: this.dir,
        env: { ...base, ...env },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
      child.stdin.end(stdin);
    });
  }
}

/** The auth page's text, or undefined when shared/ is not beside the repository. */
export async function authPage(): Promise<string | undefined> {
  return existsSync(AUTH_PAGE) ? readFile(AUTH_PAGE, 'utf8') : undefined;
}
