import { randomBytes } from 'node:crypto';
import { model, Schema } from 'mongoose';

/**
 * A secret of this installation (signing action links and cookies). `APP_SECRET` sets it; without it, one is
 * made at random the first time and kept in the database, so every process and every restart shares it and
 * no setting is needed on a fresh machine.
 */
interface InstallationSecret {
  _id: string;
  value: string;
  createdAt: Date;
}

const InstallationSecretSchema = new Schema<InstallationSecret>(
  { _id: { type: String, required: true }, value: { type: String, required: true }, createdAt: { type: Date, required: true } },
  { collection: 'installation_secrets', versionKey: false },
);
const InstallationSecretModel = model<InstallationSecret>('InstallationSecret', InstallationSecretSchema);

const cache = new Map<string, Promise<string>>();

/** The secret named `name`: the configured one, or the one this installation made (once, shared). */
export function installationSecret(name: string, configured: string | undefined, now: Date): Promise<string> {
  if (configured) return Promise.resolve(`${name}:${configured}`);
  let secret = cache.get(name);
  if (!secret) {
    secret = (async () => {
      const stored = await InstallationSecretModel.findOneAndUpdate(
        { _id: name },
        { $setOnInsert: { value: randomBytes(32).toString('base64url'), createdAt: now } },
        { upsert: true, returnDocument: 'after', lean: true },
      );
      return stored!.value;
    })();
    secret.catch(() => cache.delete(name));
    cache.set(name, secret);
  }
  return secret;
}

/** Forgets cached secrets (tests that drop their database). */
export function forgetInstallationSecrets(): void {
  cache.clear();
}
