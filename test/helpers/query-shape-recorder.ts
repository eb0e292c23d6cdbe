import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BSON, type CommandStartedEvent, type MongoClient } from 'mongodb';
import type mongoose from 'mongoose';
import { projectRoot } from '../../src/local/project-paths';
import { declaredIndexes, shapeKey, shapesOfCommand, verdictFor, type DeclaredIndex, type QueryShape } from './query-shapes';

/**
 * Records the shape of every query and update the code sends while a test file runs (the driver's command
 * monitoring), and checks each against the indexes the Mongoose schemas declare: an unserved shape fails
 * the file, naming the shape and the code that sent it. Each file's record is also written to the run's
 * folder (BOXCYCLE_QUERY_SHAPES_DIR, made by the global setup); the global teardown merges them.
 *
 * Left out, explicitly:
 *  - Agenda's own collection (`agenda_jobs`): Agenda queries it and declares its indexes itself;
 *  - queries the tests send themselves (the innermost frame of this project that made the call is under
 *    test/: a test's assertion, a factory's or helper's read). Code under src/ or jobs/, and a call with
 *    no frame of ours at all, are checked.
 */
export const EXCLUDED_COLLECTIONS: ReadonlySet<string> = new Set(['agenda_jobs']);

export interface ShapeAllowance {
  /** The shape's key, exactly (`shapeKey`). */
  key: string;
  /** The one file allowed to send it: from anywhere else, the shape fails as any other. */
  from: string;
  reason: string;
}

/**
 * Shapes no declared index serves, allowed one by one, each for the code that sends it and with its reason:
 * reviewed like code, kept short. Never a collection or a rule: everything else is checked.
 */
export const ALLOWED_SHAPES: readonly ShapeAllowance[] = [
  {
    key: 'subscriptions find {factCount:missing}',
    from: 'src/subscriptions/subscription-migrations.service.ts',
    reason:
      'the start-up migration to domain facts: one read of the collection per process start, until every subscription counts its facts (remove the migration, and this, once every deployment has run it); an index on factCount would serve nothing else',
  },
  {
    key: 'subscription_events find {subscriptionId:eq} sort {revision:1}',
    from: 'src/subscriptions/subscription-migrations.service.ts',
    reason:
      'the legacy history read by the same migration: no model declares it (nothing else reads it); the migration creates { subscriptionId, revision } on it before its first read',
  },
  {
    key: 'loyalty_programs find {enabled:eq}',
    from: 'src/loyalty/loyalty.service.ts',
    reason: 'one programme per store (_id is the merchant): the maintenance job reads them all, as many documents as stores',
  },
];

/** The allowance of a shape every origin of which is the allowed file. */
export function allowanceFor(shape: { key: string; origins: readonly string[] }): ShapeAllowance | undefined {
  return ALLOWED_SHAPES.find(
    (allowance) => allowance.key === shape.key && shape.origins.length > 0 && shape.origins.every((origin) => origin.startsWith(`${allowance.from}:`)),
  );
}

const QUERY_COMMANDS = new Set(['find', 'aggregate', 'update', 'delete', 'findAndModify', 'count', 'distinct']);
const RECORDER_FILE = __filename;

export interface RecordedShape {
  key: string;
  shape: QueryShape;
  count: number;
  /** Up to three places in src/ or jobs/ that sent it (`src/orders/order.service.ts:98`). */
  origins: string[];
  /** The first command of this shape, as MongoDB Extended JSON (what `npm run bench:explain` explains on a real MongoDB). */
  sample: string;
}

export interface FileRecord {
  testFile: string;
  shapes: RecordedShape[];
  /** Commands left out, by reason. */
  excluded: Record<string, number>;
  /** One stored document per collection (Extended JSON), for `npm run bench:explain` to store with copies. */
  documents: Record<string, string>;
  /** The indexes each collection's schema declares. */
  indexes: Record<string, DeclaredIndex[]>;
}

/** Where in this project the call came from: the innermost frame of ours, outside node_modules and this file. */
export function originOf(stack: string): { file: string; line: string } | undefined {
  for (const frame of stack.split('\n').slice(1)) {
    const match = /\(?((?:\/|[A-Za-z]:\\)[^()]+?):(\d+):\d+\)?\s*$/.exec(frame);
    if (!match) continue;
    const file = match[1]!;
    if (!file.startsWith(projectRoot) || file.includes(`${path.sep}node_modules${path.sep}`) || file === RECORDER_FILE) continue;
    return { file: path.relative(projectRoot, file), line: match[2]! };
  }
  return undefined;
}

function callerStack(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 80;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  return stack;
}

/** Through BSON first, so Mongoose documents and arrays in a command become what the server received. */
function toExtendedJson(value: Record<string, unknown>): string {
  return BSON.EJSON.stringify(BSON.deserialize(BSON.serialize(value)));
}

/**
 * What `npm run bench:explain` explains for each shape of a command: the read it selects documents with
 * (`{ find, filter, sort }`, `{ aggregate, pipeline }` or `{ count, query }`); an update, delete or
 * findAndModify selects as a find with its filter and sort does.
 */
export function samplesOf(command: Record<string, unknown>): string[] {
  const read = (collection: string, filter: unknown, sort?: unknown): string =>
    toExtendedJson({ find: collection, filter: filter ?? {}, ...(sort ? { sort } : {}), limit: 1000 });
  if (typeof command.find === 'string') return [read(command.find, command.filter, command.sort)];
  if (typeof command.findAndModify === 'string') return [read(command.findAndModify, command.query, command.sort)];
  if (typeof command.distinct === 'string') return [read(command.distinct, command.query)];
  if (typeof command.count === 'string') return [toExtendedJson({ count: command.count, query: command.query ?? {} })];
  if (typeof command.update === 'string' && Array.isArray(command.updates)) {
    const collection = command.update;
    return (command.updates as Array<Record<string, unknown>>).map((statement) => read(collection, statement.q));
  }
  if (typeof command.delete === 'string' && Array.isArray(command.deletes)) {
    const collection = command.delete;
    return (command.deletes as Array<Record<string, unknown>>).map((statement) => read(collection, statement.q));
  }
  if (typeof command.aggregate === 'string') return [toExtendedJson({ aggregate: command.aggregate, pipeline: command.pipeline, cursor: {} })];
  return [];
}

export class QueryShapeRecorder {
  private readonly shapes = new Map<string, RecordedShape>();
  private readonly excluded: Record<string, number> = {};
  private readonly documents: Record<string, string> = {};
  private readonly clients = new WeakSet<MongoClient>();

  constructor(private readonly dbName: string) {}

  /** Starts listening on a client connected with `monitorCommands: true`. */
  attach(client: MongoClient): void {
    if (this.clients.has(client)) return;
    this.clients.add(client);
    client.on('commandStarted', (event) => this.onCommand(event));
  }

  private exclude(reason: string): void {
    this.excluded[reason] = (this.excluded[reason] ?? 0) + 1;
  }

  /** A listener that throws would break the code under test: a recorder failure is kept and reported instead. */
  private onCommand(event: CommandStartedEvent): void {
    try {
      this.record(event);
    } catch (error) {
      this.exclude(`not recorded (recorder error: ${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
    }
  }

  private record(event: CommandStartedEvent): void {
    if (event.databaseName !== this.dbName) return;
    const command = event.command as Record<string, unknown>;
    if (event.commandName === 'insert' || event.commandName === 'update') this.keepDocument(command);
    if (!QUERY_COMMANDS.has(event.commandName)) return;
    const shapes = shapesOfCommand(command);
    if (shapes.length === 0) return;
    if (EXCLUDED_COLLECTIONS.has(shapes[0]!.collection)) {
      this.exclude(`${shapes[0]!.collection} (Agenda's own)`);
      return;
    }
    const origin = originOf(callerStack());
    if (origin?.file.startsWith(`test${path.sep}`)) {
      this.exclude('sent by test code');
      return;
    }
    const where = origin ? `${origin.file}:${origin.line}` : '(no frame of this project)';
    const samples = samplesOf(command);
    shapes.forEach((shape, position) => {
      const key = shapeKey(shape);
      const known = this.shapes.get(key);
      if (known) {
        known.count++;
        if (known.origins.length < 3 && !known.origins.includes(where)) known.origins.push(where);
        return;
      }
      this.shapes.set(key, { key, shape, count: 1, origins: [where], sample: samples[position] ?? samples[0] ?? '' });
    });
  }

  /** One stored document per collection: the first inserted, or the first upsert's equality fields and inserted values. */
  private keepDocument(command: Record<string, unknown>): void {
    const collection = typeof command.insert === 'string' ? command.insert : typeof command.update === 'string' ? command.update : undefined;
    if (!collection || collection in this.documents || EXCLUDED_COLLECTIONS.has(collection)) return;
    let document: Record<string, unknown> | undefined;
    if (Array.isArray(command.documents) && command.documents.length > 0) {
      document = command.documents[0] as Record<string, unknown>;
    } else if (Array.isArray(command.updates)) {
      const upsert = (command.updates as Array<Record<string, unknown>>).find((statement) => statement.upsert === true);
      const update = upsert?.u as Record<string, unknown> | undefined;
      if (upsert && update && !Array.isArray(update)) {
        const equalities = Object.entries((upsert.q ?? {}) as Record<string, unknown>).filter(
          ([key, value]) =>
            !key.startsWith('$') && !key.includes('.') && !(typeof value === 'object' && value !== null && Object.keys(value).some((k) => k.startsWith('$'))),
        );
        const set = Object.entries((update.$set ?? {}) as Record<string, unknown>).filter(([key]) => !key.includes('.'));
        document = { ...Object.fromEntries(equalities), ...((update.$setOnInsert ?? {}) as Record<string, unknown>), ...Object.fromEntries(set) };
      }
    }
    if (document) this.documents[collection] = toExtendedJson(document);
  }

  /** The file's record, checked against the indexes the connection's models declare. */
  finish(testFile: string, connection: mongoose.Connection): { record: FileRecord; unserved: Array<RecordedShape & { reason: string }> } {
    const indexes: Record<string, DeclaredIndex[]> = {};
    for (const model of Object.values(connection.models)) {
      indexes[model.collection.collectionName] = declaredIndexes(model.schema.indexes());
    }
    const unserved: Array<RecordedShape & { reason: string }> = [];
    for (const recorded of this.shapes.values()) {
      const verdict = verdictFor(recorded.shape, indexes[recorded.shape.collection] ?? declaredIndexes([]));
      if (!verdict.served && !allowanceFor(recorded)) unserved.push({ ...recorded, reason: verdict.reason });
    }
    const record: FileRecord = {
      testFile: path.relative(projectRoot, testFile),
      shapes: [...this.shapes.values()],
      excluded: this.excluded,
      documents: this.documents,
      indexes,
    };
    return { record, unserved };
  }
}

/** The folder the global setup made for this run's records (unset when Jest runs without it). */
export function shapesDir(): string | undefined {
  return process.env.BOXCYCLE_QUERY_SHAPES_DIR || undefined;
}

export function writeFileRecord(record: FileRecord): void {
  const dir = shapesDir();
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${process.pid}-${randomBytes(4).toString('hex')}.json`), JSON.stringify(record));
}

export function describeUnserved(unserved: Array<RecordedShape & { reason: string }>): string {
  return unserved.map((shape) => `  ${shape.key}\n      ${shape.reason}\n      sent from ${shape.origins.join(', ')}`).join('\n');
}
