import { mkdir } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, spawnService, type ChildService } from './child-service';
import { ensureFerretDb, ensureMongoJavaServer } from './local-tools';
import { isOnPath } from './run-command';

export const LOCAL_DB_ENGINES = ['auto', 'mongod', 'mongo-java-server', 'ferretdb'] as const;
export type LocalDbEngine = (typeof LOCAL_DB_ENGINES)[number];

export interface LocalDatabase {
  /** Which server actually runs, and with which storage. */
  engine: Exclude<LocalDbEngine, 'auto'>;
  storage: string;
  /** A MongoDB URI without a database name: append `/<db>`. */
  uri: string;
  stop(): Promise<void>;
}

export interface LocalDatabaseOptions {
  engine: LocalDbEngine;
  /** Keep data in this folder across restarts; without it the data lives in memory or a temp folder. */
  dataDir?: string;
  log: (message: string) => void;
  /** mongo-java-server only: the Java heap's maximum (`-Xmx`), e.g. `12g`, for benchmarks with big stores; the JVM's default otherwise. */
  javaHeap?: string;
  /**
   * mongo-java-server's memory backend only: keep one copy of each field name and short string value in the
   * stored documents (about half its heap in a big store), for benchmarks with millions of documents.
   */
  sharedStrings?: boolean;
}

/**
 * Starts a MongoDB-wire server on 127.0.0.1 for the embedded default and the tests.
 * `auto` prefers a real `mongod` on PATH and otherwise builds mongo-java-server from Maven Central
 * (see the README's "Database" section for why it is the primary stand-in).
 */
export async function startLocalDatabase(options: LocalDatabaseOptions): Promise<LocalDatabase> {
  const engine = options.engine === 'auto' ? ((await isOnPath('mongod')) ? 'mongod' : 'mongo-java-server') : options.engine;
  const port = await freePort();
  let service: ChildService;
  let storage: string;

  switch (engine) {
    case 'mongod': {
      const dbPath = options.dataDir ? path.join(options.dataDir, 'mongod') : mkdtempSync(path.join(os.tmpdir(), 'boxcycle-mongod-'));
      await mkdir(dbPath, { recursive: true });
      storage = dbPath;
      service = await spawnService({
        name: 'mongod',
        command: 'mongod',
        args: ['--dbpath', dbPath, '--port', String(port), '--bind_ip', '127.0.0.1'],
        readyWhen: { tcpPort: port },
      });
      break;
    }
    case 'mongo-java-server': {
      const tool = await ensureMongoJavaServer(options.log);
      let backendArgs = ['--backend', options.sharedStrings ? 'memory-shared-strings' : 'memory'];
      storage = options.sharedStrings ? 'memory, shared strings' : 'memory';
      if (options.dataDir) {
        await mkdir(options.dataDir, { recursive: true });
        storage = path.join(options.dataDir, 'mongo-java-server.mv');
        backendArgs = ['--backend', 'h2', '--file', storage];
      }
      service = await spawnService({
        name: 'mongo-java-server',
        command: tool.java,
        args: [
          '-Xss4m',
          '-XX:+UseSerialGC',
          ...(options.javaHeap ? [`-Xmx${options.javaHeap}`] : []),
          '-cp',
          tool.classpath,
          'Launcher',
          ...backendArgs,
          '--host',
          '127.0.0.1',
          '--port',
          String(port),
        ],
        readyWhen: { line: /LISTENING [\d.]+:(\d+)/ },
        watchesStdin: true,
      });
      break;
    }
    case 'ferretdb': {
      const binary = await ensureFerretDb(options.log);
      const dir = options.dataDir ? path.join(options.dataDir, 'ferretdb') : mkdtempSync(path.join(os.tmpdir(), 'boxcycle-ferretdb-'));
      await mkdir(dir, { recursive: true });
      storage = dir;
      service = await spawnService({
        name: 'ferretdb',
        command: binary,
        args: [`--listen-addr=127.0.0.1:${port}`, '--handler=sqlite', `--sqlite-url=file:${dir}/`, '--state-dir=-', '--telemetry=disable', '--log-level=error'],
        readyWhen: { tcpPort: port },
      });
      break;
    }
  }
  return { engine, storage, uri: `mongodb://127.0.0.1:${port}`, stop: () => service.stop() };
}
