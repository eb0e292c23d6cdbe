/**
 * The local stand-in's shared-strings memory backend (`LOCAL_DB_SHARED_STRINGS=1`, for benchmarks with millions
 * of documents: tools/mongo-java-server/Launcher.java) keeps one copy of each field name and short string in
 * what it stores. It must store exactly what it is sent: this runs the same writes against it and against the
 * plain memory backend and compares every document read back, field order included.
 */
import { MongoClient, type Db } from 'mongodb';
import { startLocalDatabase, type LocalDatabase } from '../../src/local/local-database';

jest.setTimeout(120_000);

const servers: Array<{ database: LocalDatabase; client: MongoClient; db: Db }> = [];

beforeAll(async () => {
  for (const sharedStrings of [false, true]) {
    const database = await startLocalDatabase({ engine: 'mongo-java-server', log: () => undefined, sharedStrings });
    const client = await MongoClient.connect(`${database.uri}/?directConnection=true`);
    servers.push({ database, client, db: client.db('shared_strings') });
  }
});

afterAll(async () => {
  for (const { client, database } of servers) {
    await client.close();
    await database.stop();
  }
});

const long = 'x'.repeat(100); // longer than what the backend shares: stored as it comes
const bigArray = Array.from({ length: 300 }, (_, i) => `fact_${i % 3}`); // longer than the arrays it walks

interface Event {
  _id: string;
  subjectId: string;
  seq: number;
  type?: string;
  data?: Record<string, unknown>;
  done?: string[];
  state?: string;
  attempts?: number;
}

/** The same writes, answered with every document as read back (ordered by `_id`, fields in stored order). */
async function writeAndRead(db: Db): Promise<{ docs: unknown[]; keys: string[][]; duplicate: unknown }> {
  const events = db.collection<Event>('events');
  await events.createIndex({ subjectId: 1, seq: 1 }, { unique: true });
  await events.insertMany([
    { _id: 'e1', subjectId: 'sub_1', seq: 1, type: 'box.paid', data: { lines: [{ sku: 'SKU-1', qty: 2 }], note: long }, done: ['a', 'b'] },
    { _id: 'e2', subjectId: 'sub_1', seq: 2, type: 'box.paid', data: { lines: [] }, done: bigArray },
    { _id: 'e3', subjectId: 'sub_2', seq: 1, type: 'subscription.created', data: {}, done: [] },
  ]);
  await events.updateOne({ _id: 'e1' }, { $set: { 'data.lines.0.qty': 3, state: 'succeeded' }, $push: { done: 'c' }, $unset: { 'data.note': '' } });
  await events.updateOne({ _id: 'e2' }, { $inc: { attempts: 1 }, $set: { type: 'box.shipped' }, $push: { done: 'fact_9' } });
  await events.updateOne({ _id: 'e4', subjectId: 'sub_3', seq: 1 }, { $setOnInsert: { type: 'box.paid', data: { k: 'v' } } }, { upsert: true });
  await events.findOneAndUpdate({ _id: 'e3' }, { $set: { 'data.reason': 'too_much_coffee' } });
  const duplicate = await events.insertOne({ _id: 'e5', subjectId: 'sub_1', seq: 1 }).then(
    () => 'inserted',
    (error: { code?: number }) => error.code,
  );
  const docs = await events
    .find({ type: { $in: ['box.paid', 'box.shipped'] }, 'data.lines.0.qty': { $ne: 99 } })
    .sort({ _id: 1 })
    .toArray();
  const all = await events.find().sort({ _id: 1 }).toArray();
  return { docs: all.concat(docs), keys: all.map((doc) => Object.keys(doc)), duplicate };
}

describe('the stand-in with shared strings', () => {
  test('when the same documents are written, updated and upserted, then it stores and answers exactly what the plain memory backend does', async () => {
    const [plain, shared] = await Promise.all(servers.map(({ db }) => writeAndRead(db)));
    expect(plain!.duplicate).toBe(11000);
    expect(plain!.docs).toHaveLength(4 + 3);
    expect(shared).toEqual(plain);
    expect(shared!.keys).toEqual(plain!.keys);
  });
});
