import { model, Schema } from 'mongoose';

/** Who a perk, an offer or a campaign is for. Every condition set must hold; none set: every subscriber. */
export interface Eligibility {
  planIds?: string[];
  /** Paid boxes of the subscription before the one being built (its tenure). */
  minPaidBoxes?: number;
  tierKeys?: string[];
  /** Local dates (merchant's zone) the box's charge date must fall in. */
  startsOn?: string;
  endsOn?: string;
}

/**
 * What a perk gives, applied when the box is built at its cut-off:
 * - `free_addon`: an add-on at no charge in every Nth box (box number = paid boxes before + 1);
 * - `addon_discount`: a percentage or a fixed amount off the box's add-ons (never more than they cost);
 * - `free_shipping`: the merchant's shipping fee for the box's currency waived (nothing to waive when none is set for it);
 * - `early_access`: these add-ons can be added before their release date (checked when adding, not at build);
 * - `milestone_bonus`: once, in the box that is the 3rd, 6th, 12th… paid: points, a free add-on or an amount off.
 *
 * An amount is in its `currency` and only given to boxes in that currency (¥500 is not $5.00). Perks stored
 * before amounts had a currency have none: theirs is the store's default currency.
 */
export type PerkBenefit =
  | { kind: 'free_addon'; addonId: string; quantity: number; everyNthBox: number }
  | { kind: 'addon_discount'; percentOff?: number; amountOffMinor?: number; currency?: string }
  | { kind: 'free_shipping' }
  | { kind: 'early_access'; addonIds: string[] }
  | {
      kind: 'milestone_bonus';
      boxNumbers: number[];
      bonus:
        | { type: 'points'; points: number }
        | { type: 'free_addon'; addonId: string; quantity: number }
        | { type: 'amount_off'; amountOffMinor: number; currency?: string };
    };

export interface Perk {
  _id: string;
  merchantId: string;
  name: string;
  description?: string;
  status: 'active' | 'archived';
  eligibility: Eligibility;
  benefit: PerkBenefit;
  createdAt: Date;
  updatedAt: Date;
}

const PerkSchema = new Schema<Perk>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    name: { type: String, required: true },
    description: { type: String },
    status: { type: String, enum: ['active', 'archived'], required: true },
    eligibility: { type: Schema.Types.Mixed, default: {} },
    benefit: { type: Schema.Types.Mixed, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'perks', versionKey: false, minimize: false },
);
PerkSchema.index({ merchantId: 1, status: 1, createdAt: -1, _id: -1 });
PerkSchema.index({ merchantId: 1, createdAt: -1, _id: -1 });

export const PerkModel = model<Perk>('Perk', PerkSchema);
