import type { Model } from 'mongoose';

// Mongoose's models are generic over their documents; this only reads a schema's top-level paths.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyModel = Model<any>;

const projections = new WeakMap<AnyModel, string>();

/**
 * The projection a report reads a bucket with: every top-level field of its schema but `factIds` (the ids of
 * the facts added, which grow with the facts and only guard the writes), as Mongoose's field list. An
 * inclusion, not `{ factIds: 0 }`: an exclusion makes the local stand-in copy the whole document, ids and all,
 * before it drops them, and MongoDB answers both the same.
 */
export function bucketFields(model: AnyModel): string {
  let projection = projections.get(model);
  if (projection === undefined) {
    const fields = new Set(Object.keys(model.schema.paths).map((path) => path.split('.')[0]!));
    fields.delete('factIds');
    projection = [...fields].join(' ');
    projections.set(model, projection);
  }
  return projection;
}
