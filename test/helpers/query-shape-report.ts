import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/local/project-paths';
import { allowanceFor, describeUnserved, shapesDir, type FileRecord, type RecordedShape } from './query-shape-recorder';
import { verdictFor, declaredIndexes, type DeclaredIndex } from './query-shapes';

/** Where the last run's shapes are kept (git-ignored, like the type-check cache). */
export const QUERY_SHAPES_FILE = path.join(projectRoot, 'node_modules', '.cache', 'boxcycle', 'query-shapes.json');

export interface ShapesReport {
  /** The test files that recorded shapes. */
  files: number;
  shapes: Array<RecordedShape & { served: boolean; reason: string }>;
  excluded: Record<string, number>;
  documents: Record<string, string>;
  indexes: Record<string, DeclaredIndex[]>;
}

/** Merges the records every test file wrote (whatever Jest worker ran it). */
export function mergeRecords(records: FileRecord[]): ShapesReport {
  const shapes = new Map<string, RecordedShape>();
  const excluded: Record<string, number> = {};
  const documents: Record<string, string> = {};
  const indexes: Record<string, DeclaredIndex[]> = {};
  for (const record of records) {
    for (const shape of record.shapes) {
      const known = shapes.get(shape.key);
      if (!known) {
        shapes.set(shape.key, { ...shape, origins: [...shape.origins] });
        continue;
      }
      known.count += shape.count;
      for (const origin of shape.origins) if (known.origins.length < 5 && !known.origins.includes(origin)) known.origins.push(origin);
    }
    for (const [reason, count] of Object.entries(record.excluded)) excluded[reason] = (excluded[reason] ?? 0) + count;
    for (const [collection, document] of Object.entries(record.documents)) documents[collection] ??= document;
    for (const [collection, declared] of Object.entries(record.indexes)) indexes[collection] ??= declared;
  }
  return {
    files: records.length,
    shapes: [...shapes.values()]
      .map((shape) => {
        const verdict = verdictFor(shape.shape, indexes[shape.shape.collection] ?? declaredIndexes([]));
        const allowance = verdict.served ? undefined : allowanceFor(shape);
        return { ...shape, ...(allowance ? { served: true, reason: `allowed: ${allowance.reason}` } : verdict) };
      })
      .sort((a, b) => a.key.localeCompare(b.key)),
    excluded,
    documents,
    indexes,
  };
}

/**
 * Run by the global teardown: merges the run's records, keeps them and prints
 * one summary. (Each test file has already failed on its own unserved shapes.)
 */
export function reportQueryShapes(log: (message: string) => void): void {
  const dir = shapesDir();
  if (!dir || !existsSync(dir)) return;
  const records = readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as FileRecord);
  rmSync(dir, { recursive: true, force: true });
  if (records.length === 0) return;
  const report = mergeRecords(records);
  mkdirSync(path.dirname(QUERY_SHAPES_FILE), { recursive: true });
  writeFileSync(QUERY_SHAPES_FILE, JSON.stringify(report, null, 1));
  const commands = report.shapes.reduce((sum, shape) => sum + shape.count, 0);
  const left = Object.entries(report.excluded)
    .map(([reason, count]) => `${count} ${reason}`)
    .join(', ');
  const unserved = report.shapes.filter((shape) => !shape.served);
  log(
    `[query shapes] ${report.shapes.length} distinct shapes (${commands} commands) from ${report.files} test files; ` +
      `${unserved.length === 0 ? 'every one served by a declared index' : `${unserved.length} NOT served by a declared index`}` +
      `${left ? `; left out: ${left}` : ''}. Kept in ${path.relative(projectRoot, QUERY_SHAPES_FILE)}.`,
  );
  if (unserved.length > 0) log(describeUnserved(unserved));
}
