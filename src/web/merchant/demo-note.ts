import type { NextFunction, Request, Response } from 'express';
import { isDemoStore } from '../../demo/demo-history.service';
import { signedInMerchant } from './merchant-session';

/** What the demo store's analytics and subscribers pages say above their figures (views/merchant/_demo-note.ejs). */
export const DEMO_NOTE = 'Demo data: made up at first start.';

/**
 * After `requireMerchant`: on the demo store (whose year of history was made up at first start), the page
 * carries the note; on any other store, nothing.
 */
export async function demoNote(_req: Request, res: Response, next: NextFunction): Promise<void> {
  res.locals.demoNote = (await isDemoStore(signedInMerchant(res).merchantId)) ? DEMO_NOTE : null;
  next();
}
