/**
 * NetAlertX's `encrypt_data` / `decrypt_data` (server/crypto_utils.py): key = SHA-256 of the
 * passphrase, AES-256-CBC, PKCS#7 padding, payload = base64(IV) (24 characters) + base64(ciphertext).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export class DecryptError extends Error {
  override name = 'DecryptError';
}

export function prepareKey(passphrase: string): Buffer {
  return createHash('sha256').update(passphrase, 'utf8').digest();
}

export function encryptData(plain: string, passphrase: string, iv: Buffer = randomBytes(16)): string {
  const cipher = createCipheriv('aes-256-cbc', prepareKey(passphrase), iv);
  const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return iv.toString('base64') + ct.toString('base64');
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decrypts a payload. Form posts that were not URL-encoded turn `+` into a space; spaces are
 * therefore read as `+` (even at the ends) and line breaks are ignored, as a tolerant base64 reader would.
 */
export function decryptData(payload: string, passphrase: string): string {
  const data = payload.replace(/[\r\n\t]/g, '').replace(/ /g, '+');
  if (data.length < 24 + 24) throw new DecryptError('payload too short to be encrypted');
  const ivB64 = data.slice(0, 24);
  const ctB64 = data.slice(24);
  if (!B64.test(ivB64) || !B64.test(ctB64)) throw new DecryptError('payload is not base64');
  const iv = Buffer.from(ivB64, 'base64');
  const ct = Buffer.from(ctB64, 'base64');
  if (iv.length !== 16) throw new DecryptError('bad IV');
  if (ct.length === 0 || ct.length % 16 !== 0)
    throw new DecryptError('ciphertext length is not a multiple of the block size');
  let plain: Buffer;
  try {
    const d = createDecipheriv('aes-256-cbc', prepareKey(passphrase), iv);
    plain = Buffer.concat([d.update(ct), d.final()]);
  } catch {
    throw new DecryptError('decryption failed (wrong passphrase or corrupt payload)');
  }
  try {
    return utf8.decode(plain);
  } catch {
    throw new DecryptError('decrypted payload is not UTF-8 (wrong passphrase?)');
  }
}
