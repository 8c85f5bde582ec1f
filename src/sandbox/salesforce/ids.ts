/**
 * Salesforce-style record ids: a 3-char key prefix, 12 base-62 chars, and the 3-char
 * case-safe suffix Salesforce appends to turn a 15-char id into the 18-char form.
 */
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ012345';

/** The suffix encodes which of the 15 chars are upper case, 5 chars per suffix char. */
export function caseSafeSuffix(id15: string): string {
  let suffix = '';
  for (let chunk = 0; chunk < 3; chunk += 1) {
    let bits = 0;
    for (let i = 0; i < 5; i += 1) {
      const char = id15.charCodeAt(chunk * 5 + i);
      if (char >= 65 && char <= 90) bits |= 1 << i;
    }
    suffix += SUFFIX_ALPHABET[bits];
  }
  return suffix;
}

export function toId18(id: string): string {
  return id.length === 15 ? id + caseSafeSuffix(id) : id;
}

export function isWellFormedId(id: string): boolean {
  if (!/^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$/.test(id)) return false;
  return id.length === 15 || caseSafeSuffix(id.slice(0, 15)) === id.slice(15);
}

/** Hands out ids per key prefix; the pod marker "5g" mimics a real instance's ids. */
export class IdGenerator {
  private readonly next = new Map<string, number>();

  constructor(private readonly start = 1) {}

  generate(prefix: string): string {
    const n = this.next.get(prefix) ?? this.start;
    this.next.set(prefix, n + 1);
    let body = '';
    let rest = n;
    for (let i = 0; i < 10; i += 1) {
      body = BASE62[rest % 62] + body;
      rest = Math.floor(rest / 62);
    }
    return toId18(`${prefix}5g${body}`);
  }
}
