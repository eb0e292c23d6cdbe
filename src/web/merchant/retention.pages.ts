import { Router } from 'express';
import { listGiftCampaigns } from '../../gifts/gift-campaign.service';
import type { PromotionSyncDeps } from '../../promotions/promotion-stripe-sync.service';
import { listPromoCodes } from '../../promotions/promotion.service';
import { listReferrals } from '../../referrals/referral.service';
import { giftCampaignPages } from './gift-campaigns.pages';
import { requireMerchant, signedInMerchant } from './merchant-session';
import { promoCodePages } from './promo-codes.pages';
import { referralPages } from './referrals.pages';

/**
 * The merchant's Retention hub (`/merchant/retention`): a line of status per section, from the same services
 * as the API, and the sections' pages (surprise gifts, referrals, promo codes here; perks, loyalty and offers
 * are their own pages under the same path).
 */
const COUNTED = 100;

/** "3", or "100 or more" once a page is full: counted with one bounded read, never a scan of everything. */
function countWords(page: { data: unknown[]; hasMore: boolean }): { n: number; more: boolean } {
  return { n: page.data.length, more: page.hasMore };
}

function line(count: { n: number; more: boolean }, one: string, many: string, none: string): string {
  if (count.n === 0) return none;
  return `${count.more ? `${count.n} or more` : count.n} ${count.n === 1 && !count.more ? one : many}`;
}

export function retentionPages(deps: PromotionSyncDeps): Router {
  const router = Router();
  router.get('/merchant/retention', requireMerchant, async (_req, res) => {
    const merchantId = signedInMerchant(res).merchantId;
    const [live, drafts, held, codes] = await Promise.all([
      listGiftCampaigns(merchantId, { limit: COUNTED, status: 'active' }),
      listGiftCampaigns(merchantId, { limit: COUNTED, status: 'draft' }),
      listReferrals(merchantId, { limit: COUNTED, status: 'held' }),
      listPromoCodes(deps.clock, merchantId, { limit: COUNTED, status: 'active' }),
    ]);
    const draftCount = countWords(drafts);
    res.render('merchant/retention/hub', {
      title: 'Retention',
      sections: [
        {
          href: '/merchant/retention/gifts',
          name: 'Surprise gifts',
          about: 'Free add-ons slipped into the boxes of the subscribers you choose, within a stock and a cost budget.',
          status:
            line(countWords(live), 'campaign live', 'campaigns live', 'No campaign live') +
            (draftCount.n > 0 ? `, ${line(draftCount, 'draft', 'drafts', '')} waiting for activation` : ''),
        },
        {
          href: '/merchant/retention/referrals',
          name: 'Referrals',
          about: 'Shoppers share a code; their friend gets a welcome offer, they get a reward.',
          status: line(countWords(held), 'referral waiting for review', 'referrals waiting for review', 'No referral waiting for review'),
        },
        {
          href: '/merchant/retention/promo-codes',
          name: 'Promo codes',
          about: 'Codes for a percent or an amount off one box, some boxes or every box.',
          status: line(countWords({ data: codes.data.filter((c) => c.usable), hasMore: codes.hasMore }), 'code usable', 'codes usable', 'No code usable'),
        },
        { href: '/merchant/retention/perks', name: 'Perks', about: 'What subscribers unlock as they stay.', status: null },
        { href: '/merchant/retention/loyalty', name: 'Loyalty', about: 'Points on every paid box, tiers and their rewards.', status: null },
        { href: '/merchant/retention/offers', name: 'Offers', about: 'Save offers, threshold offers, birthdays and anniversaries.', status: null },
      ],
    });
  });
  router.use(giftCampaignPages({ clock: deps.clock }));
  router.use(referralPages(deps));
  router.use(promoCodePages(deps));
  return router;
}
