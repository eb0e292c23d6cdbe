import { reportQueryShapes } from './query-shape-report';

export default async function globalTeardown(): Promise<void> {
  const stops = (globalThis as { __boxcycleStops?: Array<() => Promise<void>> }).__boxcycleStops ?? [];
  await Promise.all(stops.map((stop) => stop()));
  reportQueryShapes((message) => process.stderr.write(`${message}\n`));
}
