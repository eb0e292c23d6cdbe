import { model, Schema } from 'mongoose';

/**
 * A merchant's choices about the messages their shoppers get (one document per merchant, `_id` the merchant
 * id): who they come from, the brand colour, which optional messages are on, and the numbers of days that
 * time some of them. Anything not set takes the default (message-settings.service.ts).
 */
export interface MessageSettings {
  _id: string;
  merchantId: string;
  fromName?: string;
  fromAddress?: string;
  replyTo?: string;
  /** `#RRGGBB`. */
  accentColor?: string;
  /** BCP 47: how money and dates read for shoppers who have not said. */
  locale?: string;
  /** Optional messages the merchant turned on or off, by template name. */
  messages: Record<string, boolean>;
  days: Record<string, number>;
  revision: number;
  updatedAt: Date;
}

const MessageSettingsSchema = new Schema<MessageSettings>(
  {
    _id: { type: String, required: true },
    merchantId: { type: String, required: true },
    fromName: { type: String },
    fromAddress: { type: String },
    replyTo: { type: String },
    accentColor: { type: String, match: /^#[0-9a-f]{6}$/ },
    locale: { type: String },
    messages: { type: Schema.Types.Mixed, default: {} },
    days: { type: Schema.Types.Mixed, default: {} },
    revision: { type: Number, required: true, default: 0 },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'message_settings', versionKey: false, minimize: false },
);
MessageSettingsSchema.index({ merchantId: 1 }, { unique: true });

export const MessageSettingsModel = model<MessageSettings>('MessageSettings', MessageSettingsSchema);
