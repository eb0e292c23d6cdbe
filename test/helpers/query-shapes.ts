/**
 * The shape of a database query, and whether a declared index serves it. Pure functions: the recorder
 * (test/helpers/query-shape-recorder.ts) feeds them the commands the driver sends while the tests run.
 * `npm run bench:explain` asks a real MongoDB (MONGODB_URI) for the `explain()` of each recorded shape.
 *
 * A shape keeps what decides index use and drops the values: the collection, the operation, each filtered
 * field with its operator normalised (eq, in, range, exists, missing, regex, ne, other), the `$or` branches,
 * and the sort.
 */

export type FieldOp = 'eq' | 'in' | 'range' | 'exists' | 'missing' | 'regex' | 'ne' | 'other';
export type FieldOps = Record<string, FieldOp>;
export type SortSpec = Array<[string, 1 | -1]>;

export interface QueryShape {
  collection: string;
  operation: 'find' | 'update' | 'delete' | 'findAndModify' | 'count' | 'distinct' | 'aggregate';
  filter: FieldOps;
  /** Each `$or` of the filter (at the top or under `$and`): its branches. */
  ors: FieldOps[][];
  sort: SortSpec;
}

export interface DeclaredIndex {
  name: string;
  keys: SortSpec;
  unique: boolean;
  sparse: boolean;
}

/** Operators an index can bound a scan with (a leading `$ne`, `$nin`, `$not`, `$expr`… scans everything). */
const USABLE: ReadonlySet<FieldOp> = new Set<FieldOp>(['eq', 'in', 'range', 'exists', 'missing', 'regex']);
/** When a field carries several operators, the one that bounds the scan best names it. */
const STRENGTH: FieldOp[] = ['eq', 'in', 'range', 'exists', 'missing', 'regex', 'ne', 'other'];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function strongest(a: FieldOp | undefined, b: FieldOp): FieldOp {
  if (a === undefined) return b;
  return STRENGTH.indexOf(a) <= STRENGTH.indexOf(b) ? a : b;
}

function opOf(operator: string, argument: unknown): FieldOp {
  switch (operator) {
    case '$eq':
      return 'eq';
    case '$in':
      return Array.isArray(argument) && argument.length === 1 ? 'eq' : 'in';
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte':
      return 'range';
    case '$exists':
      return argument ? 'exists' : 'missing';
    case '$regex':
      return 'regex';
    case '$ne':
    case '$nin':
    case '$not':
      return 'ne';
    default:
      return 'other';
  }
}

interface Normalised {
  fields: FieldOps;
  ors: FieldOps[][];
}

function addField(into: FieldOps, field: string, op: FieldOp): void {
  into[field] = strongest(into[field], op);
}

function normaliseInto(filter: Record<string, unknown>, out: Normalised, prefix = ''): void {
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(value)) {
      for (const part of value) if (isPlainObject(part)) normaliseInto(part, out, prefix);
    } else if (key === '$or' && Array.isArray(value)) {
      out.ors.push(
        value
          .filter(isPlainObject)
          .map((branch) => normaliseFilter(branch))
          .map(flattenBranch),
      );
    } else if (key === '$comment') {
      continue;
    } else if (key.startsWith('$')) {
      // $expr, $nor, $where, $text: nothing an ordinary index bounds.
      addField(out.fields, key, 'other');
    } else {
      const field = prefix + key;
      if (isPlainObject(value) && Object.keys(value).some((k) => k.startsWith('$'))) {
        for (const [operator, argument] of Object.entries(value)) {
          if (operator === '$elemMatch' && isPlainObject(argument)) {
            const operatorsOnly = Object.keys(argument).every((k) => k.startsWith('$'));
            // {tags: {$elemMatch: {$gte: 1}}} bounds the field itself; {lines: {$elemMatch: {sku: …}}} its subfields.
            if (operatorsOnly) normaliseInto({ [key]: argument }, out, prefix);
            else normaliseInto(argument, out, `${field}.`);
          } else if (operator === '$options') {
            continue;
          } else if (operator === '$all' && Array.isArray(argument)) {
            addField(out.fields, field, argument.length > 0 ? 'eq' : 'other');
          } else {
            addField(out.fields, field, opOf(operator, argument));
          }
        }
      } else if (value instanceof RegExp) {
        addField(out.fields, field, 'regex');
      } else {
        addField(out.fields, field, 'eq');
      }
    }
  }
}

/** A branch of an `$or` keeps only its own fields (a nested `$or` in a branch is rare; its fields count as `other`). */
function flattenBranch(normalised: Normalised): FieldOps {
  const fields = { ...normalised.fields };
  if (normalised.ors.length > 0) fields.$or = 'other';
  return fields;
}

export function normaliseFilter(filter: Record<string, unknown> | undefined): Normalised {
  const out: Normalised = { fields: {}, ors: [] };
  if (filter) normaliseInto(filter, out);
  return out;
}

/** A sort as the driver sends it (a Map, in the order given), or as a pipeline's `$sort` stage has it (an object). */
function sortOf(sort: unknown): SortSpec {
  const entries: Array<[string, unknown]> =
    sort instanceof Map ? [...(sort as Map<string, unknown>).entries()] : isPlainObject(sort) ? Object.entries(sort) : [];
  return entries
    .filter(([, direction]) => typeof direction === 'number' || direction === 'asc' || direction === 'desc')
    .map(([field, direction]) => [field, direction === 'desc' || (typeof direction === 'number' && direction < 0) ? -1 : 1]);
}

function shape(collection: string, operation: QueryShape['operation'], filter: unknown, sort?: unknown): QueryShape {
  const normalised = normaliseFilter(isPlainObject(filter) ? filter : undefined);
  return { collection, operation, filter: normalised.fields, ors: normalised.ors, sort: sortOf(sort) };
}

/** The shapes one command reads or updates by (none for inserts, getMore and administrative commands). */
export function shapesOfCommand(command: Record<string, unknown>): QueryShape[] {
  if (typeof command.find === 'string') return [shape(command.find, 'find', command.filter, command.sort)];
  if (typeof command.findAndModify === 'string') return [shape(command.findAndModify, 'findAndModify', command.query, command.sort)];
  if (typeof command.count === 'string') return [shape(command.count, 'count', command.query)];
  if (typeof command.distinct === 'string') return [shape(command.distinct, 'distinct', command.query)];
  if (typeof command.update === 'string' && Array.isArray(command.updates)) {
    const collection = command.update;
    return command.updates.filter(isPlainObject).map((statement) => shape(collection, 'update', statement.q, statement.sort));
  }
  if (typeof command.delete === 'string' && Array.isArray(command.deletes)) {
    const collection = command.delete;
    return command.deletes.filter(isPlainObject).map((statement) => shape(collection, 'delete', statement.q));
  }
  if (typeof command.aggregate === 'string' && Array.isArray(command.pipeline)) {
    return shapesOfPipeline(command.aggregate, command.pipeline.filter(isPlainObject));
  }
  return [];
}

/** The leading `$match` (and a `$sort` right after it) reads the collection; each `$lookup` reads another. */
function shapesOfPipeline(collection: string, pipeline: Array<Record<string, unknown>>): QueryShape[] {
  const shapes: QueryShape[] = [];
  let index = 0;
  const filters: Array<Record<string, unknown>> = [];
  while (index < pipeline.length && isPlainObject(pipeline[index]!.$match)) filters.push(pipeline[index++]!.$match as Record<string, unknown>);
  const sort = index < pipeline.length && isPlainObject(pipeline[index]!.$sort) ? pipeline[index]!.$sort : undefined;
  shapes.push(shape(collection, 'aggregate', filters.length > 1 ? { $and: filters } : filters[0], sort));
  for (const stage of pipeline) {
    const lookup = stage.$lookup;
    if (!isPlainObject(lookup) || typeof lookup.from !== 'string') continue;
    if (typeof lookup.foreignField === 'string') {
      shapes.push({ collection: lookup.from, operation: 'aggregate', filter: { [lookup.foreignField]: 'eq' }, ors: [], sort: [] });
    } else {
      shapes.push({ collection: lookup.from, operation: 'aggregate', filter: { $lookup: 'other' }, ors: [], sort: [] });
    }
  }
  for (const stage of pipeline) {
    const facet = stage.$facet;
    if (!isPlainObject(facet)) continue;
    for (const sub of Object.values(facet)) {
      if (Array.isArray(sub)) shapes.push(...shapesOfPipeline(collection, sub.filter(isPlainObject)).slice(1));
    }
  }
  return shapes;
}

function describeFields(fields: FieldOps): string {
  return `{${Object.entries(fields)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([field, op]) => `${field}:${op}`)
    .join(', ')}}`;
}

/** A stable, readable key: `orders find {merchantId:eq, status:in} sort {createdAt:-1}`. */
export function shapeKey(shape: QueryShape): string {
  const parts = [shape.collection, shape.operation, describeFields(shape.filter)];
  for (const branches of shape.ors) parts.push(`or[${branches.map(describeFields).join(' | ')}]`);
  if (shape.sort.length > 0) parts.push(`sort {${shape.sort.map(([field, direction]) => `${field}:${direction}`).join(', ')}}`);
  return parts.join(' ');
}

export interface Verdict {
  served: boolean;
  /** The index that serves it, or why none does. */
  reason: string;
}

/**
 * The prefix of the index the filter bounds: its leading keys, as long as each is filtered with an operator
 * an index scan can use. Empty when the filter does not touch the index's first key (a full scan).
 */
export function boundPrefix(fields: FieldOps, index: DeclaredIndex): string[] {
  const prefix: string[] = [];
  for (const [key] of index.keys) {
    const op = fields[key];
    if (op === undefined || !USABLE.has(op)) break;
    // A sparse index leaves out the documents a `missing` (or null) test is looking for.
    if (op === 'missing' && index.sparse) break;
    prefix.push(key);
  }
  return prefix;
}

/**
 * Whether the index returns documents already in the sort's order: past the keys the filter pins to one
 * value, the next index keys are the sort's fields, all in its directions or all reversed.
 *
 * A key filtered with `$in` before the sort's fields also counts: its values are points, and MongoDB scans
 * the index once per value and merges the sorted scans (SORT_MERGE, the planner's "explode for sort", up to
 * 200 scans — a few statuses or kinds, never a list of ids). A range before the sort's fields does not.
 */
export function sortServedBy(fields: FieldOps, sort: SortSpec, index: DeclaredIndex): boolean {
  const wanted = sort.filter(([field]) => fields[field] !== 'eq');
  if (wanted.length === 0) return true;
  const isPoint = (op: FieldOp | undefined): boolean => op === 'eq' || op === 'in';
  let position = 0;
  while (position < index.keys.length && isPoint(fields[index.keys[position]![0]]) && index.keys[position]![0] !== wanted[0]![0]) position++;
  const segment = index.keys.slice(position, position + wanted.length);
  if (segment.length < wanted.length) return false;
  const same = segment.every(([key, direction], i) => key === wanted[i]![0] && direction === wanted[i]![1]);
  const reversed = segment.every(([key, direction], i) => key === wanted[i]![0] && direction === -wanted[i]![1]);
  return same || reversed;
}

/**
 * Collections whose size follows the catalog or the installation (a store has tens of plans, add-ons, SKUs,
 * offers, perks, campaigns), not its shoppers or time. On these, an index that bounds the filter's leading
 * field is enough; on every other collection the scan must also be confined (see `confines`).
 */
export const CATALOG_SIZED: ReadonlySet<string> = new Set([
  'merchants',
  'api_keys',
  'merchant_sign_ups',
  'plans',
  'addons',
  'stock_items',
  'offers',
  'perks',
  'gift_campaigns',
  'loyalty_programs',
  'referral_programs',
  'installation_secrets',
  'worker_heartbeats',
  'reconciliation_cursors',
]);

/** A field that names one subject (a subscription, customer, invoice, document): its documents are few. */
function namesOneSubject(field: string): boolean {
  const last = field.split('.').pop()!;
  return last === '_id' || (last.endsWith('Id') && last !== 'merchantId');
}

/**
 * Whether the index scan reads about as many documents as the query wants, however large the collection
 * and the store grow: the bound prefix pins one document (`_id`, or a unique index bound whole by
 * equalities), or names one subject (`subscriptionId`, `customerId`…), or holds every field the filter tests
 * for equality — and, when the filter has ranges, one of them.
 */
export function confines(fields: FieldOps, index: DeclaredIndex): boolean {
  if (pinsFewDocuments(fields, index)) return true;
  const prefix = boundPrefix(fields, index);
  const equalities = Object.entries(fields).filter(([, op]) => op === 'eq' || op === 'in');
  if (!equalities.every(([field]) => prefix.includes(field))) return false;
  const ranges = Object.entries(fields).filter(([, op]) => op === 'range');
  return ranges.length === 0 || ranges.some(([field]) => prefix.includes(field));
}

/** The bound prefix pins one document or names one subject: what it reads is small whatever the store's size. */
export function pinsFewDocuments(fields: FieldOps, index: DeclaredIndex): boolean {
  const prefix = boundPrefix(fields, index);
  if (prefix.some((field) => namesOneSubject(field) && (fields[field] === 'eq' || fields[field] === 'in'))) return true;
  return index.unique && prefix.length === index.keys.length && prefix.every((field) => fields[field] === 'eq');
}

/**
 * An index serving a filter (without its `$or`s): it bounds a prefix, gives the sort's order (unless it pins
 * a few documents) and, unless `lenient`, confines the scan.
 */
function servingIndex(fields: FieldOps, sort: SortSpec, indexes: DeclaredIndex[], lenient: boolean): DeclaredIndex | undefined {
  // A sort the index does not give is done in memory: fine over one subject's few documents, not otherwise.
  const candidates = indexes.filter(
    (index) =>
      boundPrefix(fields, index).length > 0 && (sortServedBy(fields, sort, index) || pinsFewDocuments(fields, index)) && (lenient || confines(fields, index)),
  );
  // Prefer the index that bounds the most fields (what the planner would pick on a selective filter).
  return candidates.sort((a, b) => boundPrefix(fields, b).length - boundPrefix(fields, a).length)[0];
}

/**
 * Whether a declared index prefix serves the shape. The filter must bound the leading key of an index
 * (otherwise every document is read), and on a collection that grows with shoppers or time the scan must be
 * confined (`confines`); with a sort, that index must also deliver the order (otherwise all matches are
 * sorted in memory). A filter whose usable fields are in `$or` branches is served when every branch is
 * (MongoDB then scans one index per branch). A count with no filter reads metadata; a sort with no filter is
 * served by an index that starts with the sort's fields.
 */
export function verdictFor(shape: QueryShape, indexes: DeclaredIndex[]): Verdict {
  const nameOf = (index: DeclaredIndex): string => `${shape.collection}.${index.name}`;
  const lenient = CATALOG_SIZED.has(shape.collection);
  if (Object.keys(shape.filter).length === 0 && shape.ors.length === 0) {
    if (shape.operation === 'count' && shape.sort.length === 0) return { served: true, reason: 'count of the whole collection (metadata)' };
    if (shape.sort.length > 0) {
      const ordered = indexes.find((index) => sortServedBy({}, shape.sort, index));
      if (ordered) return { served: true, reason: `index scan in order: ${nameOf(ordered)}` };
    }
    return { served: false, reason: 'no filter: reads the whole collection' };
  }
  const direct = servingIndex(shape.filter, shape.sort, indexes, lenient);
  if (direct) return { served: true, reason: `prefix [${boundPrefix(shape.filter, direct).join(', ')}] of ${nameOf(direct)}` };
  for (const branches of shape.ors) {
    // Each branch scans its own index; with a sort, each must give the order (MongoDB merges the sorted branches).
    const perBranch = branches.map((branch) => servingIndex({ ...shape.filter, ...branch }, shape.sort, indexes, lenient));
    if (perBranch.every((index) => index !== undefined)) {
      return { served: true, reason: `each $or branch by an index: ${perBranch.map((index) => nameOf(index)).join(', ')}` };
    }
  }
  const bounded = indexes.filter((index) => boundPrefix(shape.filter, index).length > 0);
  if (bounded.length === 0 && shape.ors.length > 0) {
    return { served: false, reason: 'some $or branch has no index that bounds it (and gives the sort, if any): reads the whole collection' };
  }
  if (bounded.length === 0) return { served: false, reason: 'no declared index starts with a field the filter bounds: reads the whole collection' };
  const confined = bounded.filter((index) => lenient || confines(shape.filter, index));
  if (confined.length === 0) {
    return {
      served: false,
      reason: `not confined: ${bounded.map(nameOf).join(', ')} bound only part of the filter, so the scan reads documents it does not want`,
    };
  }
  return { served: false, reason: `sorted in memory: ${confined.map(nameOf).join(', ')} bound the filter but none gives the order` };
}

/** A Mongoose schema's indexes as declared (`schema.indexes()`), plus `_id`'s. */
export function declaredIndexes(schemaIndexes: Array<[Record<string, unknown>, Record<string, unknown>]>): DeclaredIndex[] {
  const indexes: DeclaredIndex[] = [{ name: '_id_', keys: [['_id', 1]], unique: true, sparse: false }];
  for (const [fields, options] of schemaIndexes) {
    const keys: SortSpec = [];
    let plain = true;
    for (const [field, direction] of Object.entries(fields)) {
      if (direction !== 1 && direction !== -1) plain = false; // text, hashed, 2dsphere: not for these checks
      keys.push([field, direction === -1 ? -1 : 1]);
    }
    if (!plain) continue;
    indexes.push({
      name: typeof options.name === 'string' ? options.name : keys.map(([field, direction]) => `${field}_${direction}`).join('_'),
      keys,
      unique: options.unique === true,
      sparse: options.sparse === true,
    });
  }
  return indexes;
}
