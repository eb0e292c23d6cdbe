import { backfillBirthdayMonthDays } from './customers/customer.service';
import { runMaintenanceCommand } from './maintenance-command';

/**
 * `npm run customers:backfill-birthdays`: gives customers saved before `birthdayMonthDay` existed the month-day
 * the birthday rewards look them up by (src/customers/customer.service.ts, `backfillBirthdayMonthDays`). Run it
 * once after upgrading, before the next birthday run (a birthday missed is still granted up to 7 days late).
 * Idempotent, and safe while the app and workers run. Uses MONGODB_URI, else the local database `npm start`
 * uses (stop the app first: its file is not shared).
 */
if (require.main === module)
  runMaintenanceCommand(async () => {
    const result = await backfillBirthdayMonthDays();
    return `birthdays backfilled: ${result.examined} customer(s) with a birthday, ${result.written} written`;
  });
