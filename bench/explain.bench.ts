/**
 * `npm run bench:explain`: asks a real MongoDB how it runs every query shape the test suite sent — its
 * winning plan, the index it reads, and the keys and documents it examined for what it returned.
 *
 * `npm test` records each distinct shape (collection, filter fields with their operators, sort) with the first
 * command of that shape, one stored document per collection and the indexes each schema declares
 * (test/helpers/query-shape-recorder.ts, kept in node_modules/.cache/boxcycle/query-shapes.json), and fails
 * on a shape no declared index prefix serves. That check reads the shapes; this one asks the server. In a
 * scratch database (dropped at the end) it creates the declared indexes, stores the recorded document and
 * BENCH_EXPLAIN_NOISE copies of it belonging to other stores, then runs `explain` at `executionStats`
 * verbosity for each shape's command. A shape served by an index examines about what it returns; a
 * collection scan examines the noise too.
 *
 * It needs MONGODB_URI: the local stand-in (mongo-java-server) does not use non-unique indexes, so its plans
 * would say nothing. Without it, it says so and exits. Not a test: it prints and exits 0 either way.
 */
import { existsSync, readFileSync } from 'node:fs';
import { BSON, MongoClient, MongoServerError, type Document } from 'mongodb';
import { z } from 'zod';
import type { DeclaredIndex } from '../test/helpers/query-shapes';
import { QUERY_SHAPES_FILE } from '../test/helpers/query-shape-report';
import { describeCode, describeMachine } from './bench-support';
import { noiseCopies, summarisePlan, type PlanSummary } from './explain-plans';

const Settings = z.object({
  MONGODB_URI: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//)
    .optional(),
  BENCH_EXPLAIN_NOISE: z.coerce.number().int().min(0).max(100_000).default(1_000),
});

interface ShapesFile {
  shapes: Array<{ key: string; sample: string; origins: string[]; served: boolean }>;
  documents: Record<string, string>;
  indexes: Record<string, DeclaredIndex[]>;
}

const out = (line = ''): void => void process.stdout.write(`${line}\n`);

async function seed(client: MongoClient, dbName: string, file: ShapesFile, noise: number): Promise<Map<string, number>> {
  const db = client.db(dbName);
  const stored = new Map<string, number>();
  for (const [collection, indexes] of Object.entries(file.indexes)) {
    await db.createCollection(collection);
    for (const index of indexes) {
      if (index.name === '_id_') continue;
      await db.collection(collection).createIndex(Object.fromEntries(index.keys), {
        name: index.name,
        ...(index.unique ? { unique: true } : {}),
        ...(index.sparse ? { sparse: true } : {}),
      });
    }
  }
  for (const [collection, sample] of Object.entries(file.documents)) {
    const docs = [BSON.EJSON.parse(sample, { relaxed: false }) as Document, ...noiseCopies(sample, noise)];
    let inserted = 0;
    try {
      inserted = (await db.collection(collection).insertMany(docs, { ordered: false })).insertedCount;
    } catch (error) {
      // Copies that collide with a unique index (a store's own e-mail, a global key) are left out.
      if (!(error instanceof MongoServerError) || error.code !== 11000) throw error;
      inserted = (error as MongoServerError & { result?: { insertedCount?: number } }).result?.insertedCount ?? 0;
    }
    stored.set(collection, inserted);
  }
  return stored;
}

async function explainShape(client: MongoClient, dbName: string, sample: string): Promise<PlanSummary | string> {
  const command = BSON.EJSON.parse(sample, { relaxed: false }) as Document;
  try {
    return summarisePlan(await client.db(dbName).command({ explain: command, verbosity: 'executionStats' }));
  } catch (error) {
    return error instanceof Error ? error.message.split('\n')[0]! : String(error);
  }
}

async function main(): Promise<void> {
  const settings = Settings.safeParse(process.env);
  if (!settings.success) {
    out(`bench:explain: ${settings.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
    return;
  }
  out('# bench:explain — how a real MongoDB runs each query shape the tests sent');
  out(`machine: ${describeMachine()}`);
  out(`code: ${describeCode(process.cwd())}`);
  if (!existsSync(QUERY_SHAPES_FILE)) {
    out(`No recorded shapes at ${QUERY_SHAPES_FILE}: run \`npm test\` first (it records them).`);
    return;
  }
  const file = JSON.parse(readFileSync(QUERY_SHAPES_FILE, 'utf8')) as ShapesFile;
  const uri = settings.data.MONGODB_URI;
  if (!uri) {
    out(`${file.shapes.length} recorded shapes. Not explained: set MONGODB_URI to a real MongoDB (7 or later).`);
    out('The local stand-in (mongo-java-server) scans for every non-unique index, so its plans would say nothing;');
    out("`npm test`'s index-shape check already fails on a shape no declared index prefix serves.");
    return;
  }
  const client = await MongoClient.connect(uri);
  const dbName = `boxcycle_explain_${Date.now().toString(36)}`;
  try {
    const build = await client.db('admin').command({ buildInfo: 1 });
    out(`server: MongoDB ${String(build.version)}; scratch database ${dbName}; ${settings.data.BENCH_EXPLAIN_NOISE} copies of each document from other stores`);
    const stored = await seed(client, dbName, file, settings.data.BENCH_EXPLAIN_NOISE);
    out(`stored: ${[...stored].map(([collection, count]) => `${collection} ${count}`).join(', ')}`);
    out();
    out('| shape | plan | index | keys examined | docs examined | returned | verdict |');
    out('| --- | --- | --- | --- | --- | --- | --- |');
    const verdicts = new Map<string, number>();
    for (const shape of file.shapes) {
      const plan = await explainShape(client, dbName, shape.sample);
      const verdict = typeof plan === 'string' ? 'not explained' : plan.verdict;
      verdicts.set(verdict, (verdicts.get(verdict) ?? 0) + 1);
      if (typeof plan === 'string') out(`| ${shape.key} | — | — | — | — | — | not explained: ${plan} |`);
      else
        out(
          `| ${shape.key} | ${plan.stages.join(' ← ')} | ${plan.indexes.join(', ') || '—'} | ${plan.keysExamined ?? '—'} | ${plan.docsExamined ?? '—'} | ${plan.returned ?? '—'} | ${verdict} |`,
        );
    }
    out();
    out(`${file.shapes.length} shapes: ${[...verdicts].map(([verdict, count]) => `${count} ${verdict}`).join(', ')}`);
  } finally {
    await client
      .db(dbName)
      .dropDatabase()
      .catch(() => undefined);
    await client.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:explain failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 0;
});
