import type { Express } from 'express';
import { buildApp } from '../../src/app';
import { FakeClock } from '../../src/shared/time';
import { silentLogger, testConfig, testStripe } from './test-env';
import mongoose from 'mongoose';

export interface TestApp {
  app: Express;
  clock: FakeClock;
}

/** The real app on the test database and stripe-mock, with a clock the test moves. */
export function buildTestApp(options: { clock?: FakeClock } = {}): TestApp {
  const clock = options.clock ?? new FakeClock('2026-03-01T12:00:00Z');
  const app = buildApp({
    config: testConfig(),
    logger: silentLogger,
    clock,
    connection: mongoose.connection,
    stripe: testStripe(),
    stripeMode: 'stripe-mock',
  });
  return { app, clock };
}
