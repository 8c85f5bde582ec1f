import { createHash, timingSafeEqual } from 'node:crypto';

export type BearerCheck = { ok: true } | { ok: false; code: 'token_missing' | 'token_invalid'; message: string };

/**
 * Checks `Authorization: Bearer <token>` against the operator token. Both sides are hashed first so
 * the comparison is constant-time whatever the presented length.
 */
export function checkBearer(authorization: string | undefined, operatorToken: string): BearerCheck {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) {
    return { ok: false, code: 'token_missing', message: 'This endpoint needs an operator token: send "Authorization: Bearer <CODEC_OPERATOR_TOKEN>".' };
  }
  const presented = createHash('sha256').update(match[1] as string).digest();
  const expected = createHash('sha256').update(operatorToken).digest();
  if (!timingSafeEqual(presented, expected)) return { ok: false, code: 'token_invalid', message: 'The operator token is not valid.' };
  return { ok: true };
}
