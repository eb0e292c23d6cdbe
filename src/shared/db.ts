import mongoose from 'mongoose';

// Filters on fields a schema does not declare are dropped, never sent. Operator injection is stopped at the
// edge: every input is parsed by a strict Zod schema into scalars before it reaches a query.
mongoose.set('strictQuery', true);

/**
 * Connects the shared Mongoose connection (Agenda uses the same one). `monitorCommands` makes the driver emit
 * an event per command (the tests record query shapes from them); it is off in the product.
 */
export async function connectDatabase(uri: string, dbName: string, options: { monitorCommands?: boolean } = {}): Promise<mongoose.Connection> {
  await mongoose.connect(uri, {
    dbName,
    serverSelectionTimeoutMS: 10_000,
    // Collections and indexes are created once, in order, by syncIndexes() — not raced at model compile time.
    autoIndex: false,
    autoCreate: false,
    ...(options.monitorCommands ? { monitorCommands: true } : {}),
  });
  return mongoose.connection;
}

export async function disconnectDatabase(): Promise<void> {
  await mongoose.disconnect();
}

/**
 * Creates every registered model's collection and declared indexes, one after another, before the app
 * serves: the unique indexes are our idempotency guarantees and must exist before the first write.
 * Idempotent; several processes may run it at once (index creation with the same spec is a no-op).
 */
export async function syncIndexes(connection: mongoose.Connection): Promise<void> {
  const db = connection.db;
  if (!db) throw new Error('syncIndexes needs a connected database');
  const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
  for (const model of Object.values(connection.models)) {
    if (!existing.has(model.collection.collectionName)) {
      try {
        await db.createCollection(model.collection.collectionName);
      } catch (error) {
        // Another process created it between our listing and now.
        const again = await db.listCollections({ name: model.collection.collectionName }, { nameOnly: true }).toArray();
        if (again.length === 0) throw error;
      }
    }
    await model.createIndexes();
  }
}

export async function pingDatabase(connection: mongoose.Connection): Promise<void> {
  const db = connection.db;
  if (!db || connection.readyState !== mongoose.ConnectionStates.connected) throw new Error('not connected');
  await db.command({ ping: 1 });
}

/** MongoDB's E11000: a unique index refused the write. For our natural-key indexes it means "already done". */
export function isDuplicateKeyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === 11000;
}
