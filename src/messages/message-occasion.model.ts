import { model, Schema } from 'mongoose';

/**
 * An occasion a timed message was sent for (`upcoming:<subscription>:<cycle>` of `subscription.upcoming_box`):
 * the jobs that look again every hour skip what they handled before, without rendering it again. The outbox's
 * own (key, template, recipient) uniqueness stays the guarantee; this only saves the work.
 */
export interface MessageOccasion {
  /** `<template>|<key>`. */
  _id: string;
  merchantId: string;
  at: Date;
}

const MessageOccasionSchema = new Schema<MessageOccasion>(
  { _id: { type: String, required: true }, merchantId: { type: String, required: true }, at: { type: Date, required: true } },
  { collection: 'message_occasions', versionKey: false },
);

export const MessageOccasionModel = model<MessageOccasion>('MessageOccasion', MessageOccasionSchema);
