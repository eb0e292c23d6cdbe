import { derivedId } from '../shared/ids';
import { afterCursor, decodeCursor, listPage } from '../shared/pagination';
import type { Clock } from '../shared/time';
import { MessageSuppressionModel, type MessageSuppression } from './message-suppression.model';

/** The platform's own mail (no store) keeps its suppressions apart from every merchant's. */
const PLATFORM = '';

function suppressionId(merchantId: string | undefined, address: string): string {
  return derivedId('msup', `${merchantId ?? PLATFORM}\n${address.trim().toLowerCase()}`);
}

/** The bounce on record for this address of this merchant's mail, if any. */
export async function suppressionOf(merchantId: string | undefined, address: string): Promise<MessageSuppression | undefined> {
  return (await MessageSuppressionModel.findById(suppressionId(merchantId, address)).lean()) ?? undefined;
}

/**
 * Records that mail to `address` bounced permanently (once per merchant and address; a later bounce updates
 * the reply). Once the recipient itself was refused, it stays so until lifted.
 */
export async function recordBounce(
  clock: Clock,
  bounce: { merchantId?: string | undefined; address: string; recipientRefused: boolean; response: string; responseCode?: number; messageId: string },
): Promise<void> {
  const now = clock.now();
  const address = bounce.address.trim().toLowerCase();
  await MessageSuppressionModel.updateOne(
    { _id: suppressionId(bounce.merchantId, address) },
    {
      $setOnInsert: {
        ...(bounce.merchantId ? { merchantId: bounce.merchantId } : {}),
        address,
        reason: 'bounced',
        createdAt: now,
        ...(bounce.recipientRefused ? {} : { recipientRefused: false }),
      },
      $set: {
        response: bounce.response,
        ...(bounce.responseCode !== undefined ? { responseCode: bounce.responseCode } : {}),
        messageId: bounce.messageId,
        lastBouncedAt: now,
        ...(bounce.recipientRefused ? { recipientRefused: true } : {}),
      },
    },
    { upsert: true },
  );
}

/**
 * Lets mail go to `address` again (the merchant fixed it, or the shopper says it works now). Returns whether
 * there was a suppression to lift. `merchantId` undefined: the platform's own mail.
 */
export async function liftSuppression(merchantId: string | undefined, address: string): Promise<boolean> {
  const result = await MessageSuppressionModel.deleteOne({ _id: suppressionId(merchantId, address) });
  return result.deletedCount === 1;
}

/** The merchant's suppressed addresses, newest first (for the merchant's pages). */
export async function listSuppressions(merchantId: string, page: { limit: number; startingAfter?: string | undefined }) {
  const suppressions = await MessageSuppressionModel.find({ merchantId, ...afterCursor(decodeCursor(page.startingAfter)) })
    .sort({ createdAt: -1, _id: -1 })
    .limit(page.limit + 1)
    .lean();
  return listPage(suppressions, page.limit, (suppression) => ({
    address: suppression.address,
    reason: suppression.reason,
    recipientRefused: suppression.recipientRefused,
    response: suppression.response,
    responseCode: suppression.responseCode ?? null,
    messageId: suppression.messageId,
    createdAt: suppression.createdAt,
    lastBouncedAt: suppression.lastBouncedAt,
  }));
}
