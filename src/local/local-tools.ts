import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isOnPath, runCommand } from './run-command';
import { projectRoot, toolsDir } from './project-paths';

/** Versions of the tools built from registry packages. Bump here; the next start rebuilds. */
export const STRIPE_MOCK_VERSION = 'v0.203.0';
export const FERRETDB_VERSION = 'v1.24.2';

type Log = (message: string) => void;

/**
 * Builds a tool into .tools/<name> once. A stamp of the recipe decides whether an existing build is reused;
 * the build happens in a temporary folder renamed into place, so a concurrent or interrupted build never
 * leaves a half-built tool behind.
 */
async function ensureTool(name: string, recipe: string, build: (dir: string) => Promise<void>, log: Log): Promise<string> {
  const dir = path.join(toolsDir, name);
  const stampFile = path.join(dir, '.stamp');
  const stamp = createHash('sha256').update(recipe).digest('hex');
  if (existsSync(stampFile) && (await readFile(stampFile, 'utf8')) === stamp) return dir;

  log(`building ${name} into ${path.relative(projectRoot, dir)} (once; later runs reuse it)…`);
  const started = Date.now();
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    await build(tmp);
    await writeFile(path.join(tmp, '.stamp'), stamp);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    if (existsSync(stampFile) && (await readFile(stampFile, 'utf8')) === stamp) return dir; // another process won
    throw error;
  }
  log(`built ${name} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return dir;
}

async function requireCommands(tool: string, commands: Record<string, string>): Promise<void> {
  for (const [command, install] of Object.entries(commands)) {
    if (!(await isOnPath(command))) {
      throw new Error(`${tool} needs \`${command}\` on PATH (install: ${install})`);
    }
  }
}

export interface MongoJavaServerTool {
  java: string;
  classpath: string;
}

/** mongo-java-server jars from Maven Central plus our launcher, compiled. */
export async function ensureMongoJavaServer(log: Log): Promise<MongoJavaServerTool> {
  const sourceDir = path.join(projectRoot, 'tools', 'mongo-java-server');
  const pom = await readFile(path.join(sourceDir, 'pom.xml'), 'utf8');
  const launcher = await readFile(path.join(sourceDir, 'Launcher.java'), 'utf8');
  const dir = await ensureTool(
    'mongo-java-server',
    pom + launcher,
    async (tmp) => {
      await requireCommands('mongo-java-server', {
        java: 'apt-get install openjdk-17-jdk-headless',
        javac: 'apt-get install openjdk-17-jdk-headless',
        mvn: 'apt-get install maven',
      });
      await runCommand('mvn', [
        '-q',
        '-B',
        '-f',
        path.join(sourceDir, 'pom.xml'),
        'dependency:copy-dependencies',
        `-DoutputDirectory=${path.join(tmp, 'lib')}`,
      ]);
      await runCommand('javac', ['-d', path.join(tmp, 'classes'), '-cp', `${path.join(tmp, 'lib')}/*`, path.join(sourceDir, 'Launcher.java')]);
    },
    log,
  );
  return { java: 'java', classpath: `${path.join(dir, 'classes')}:${path.join(dir, 'lib')}/*` };
}

/** Go toolchain environment: module cache and build cache stay where the user keeps them. */
function goEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...process.env, CGO_ENABLED: process.env.CGO_ENABLED ?? '0', ...extra };
}

/** Stripe's official stripe-mock, from the Go module proxy. */
export async function ensureStripeMock(log: Log): Promise<string> {
  const dir = await ensureTool(
    'stripe-mock',
    `stripe-mock ${STRIPE_MOCK_VERSION}`,
    async (tmp) => {
      await requireCommands('stripe-mock', { go: 'a Go toolchain, https://go.dev/doc/install or apt-get install golang' });
      await runCommand('go', ['install', `github.com/stripe/stripe-mock@${STRIPE_MOCK_VERSION}`], {
        env: goEnv({ GOBIN: path.join(tmp, 'bin') }),
      });
    },
    log,
  );
  return path.join(dir, 'bin', 'stripe-mock');
}

/**
 * FerretDB v1 (SQLite handler), a candidate we measure but do not use by default.
 * `go install` of this module gives a binary that panics at start (build/version/version.txt is not in the
 * module zip), so it is built from a copy of the module with that file written.
 */
export async function ensureFerretDb(log: Log): Promise<string> {
  const dir = await ensureTool(
    'ferretdb',
    `ferretdb ${FERRETDB_VERSION}`,
    async (tmp) => {
      await requireCommands('FerretDB', { go: 'a Go toolchain' });
      const download = JSON.parse(
        await runCommand('go', ['mod', 'download', '-json', `github.com/FerretDB/FerretDB@${FERRETDB_VERSION}`], { env: goEnv({}) }),
      ) as { Dir?: string };
      if (!download.Dir) throw new Error('go mod download did not report the module folder');
      const src = path.join(tmp, 'src');
      await cp(download.Dir, src, { recursive: true });
      await runCommand('chmod', ['-R', 'u+w', src]);
      await writeFile(path.join(src, 'build', 'version', 'version.txt'), FERRETDB_VERSION);
      await runCommand('go', ['build', '-o', path.join(tmp, 'bin', 'ferretdb'), './cmd/ferretdb'], { cwd: src, env: goEnv({}) });
      await rm(src, { recursive: true, force: true });
    },
    log,
  );
  return path.join(dir, 'bin', 'ferretdb');
}
