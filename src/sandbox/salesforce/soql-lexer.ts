import { SalesforceApiError } from './errors';

export type TokenKind = 'ident' | 'string' | 'number' | 'datetime' | 'date' | 'op' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Source text for idents/ops/punct; the unescaped value for strings. */
  text: string;
  /** 1-based column, for Salesforce's "ERROR at Row:1:Column:N" messages. */
  column: number;
}

const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})/;
const DATE = /^\d{4}-\d{2}-\d{2}(?![\dT])/;
const NUMBER = /^-?\d+(\.\d+)?(?![\w.])/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_.]*/;
const OPS = ['!=', '<>', '<=', '>=', '=', '<', '>'];
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', '"': '"', "'": "'", '\\': '\\', _: '\\_', '%': '\\%' };

/** Salesforce's parse-error shape: the query, a caret under the column, then the reason. */
export function soqlError(errorCode: string, soql: string, column: number, reason: string): SalesforceApiError {
  const line = soql.replace(/\s+/g, ' ');
  return new SalesforceApiError(400, errorCode, `\n${line}\n${' '.repeat(Math.max(0, column - 1))}^\nERROR at Row:1:Column:${column}\n${reason}`);
}

export function tokenize(soql: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < soql.length) {
    const char = soql[at] as string;
    if (/\s/.test(char)) {
      at += 1;
      continue;
    }
    const rest = soql.slice(at);
    const column = at + 1;
    let match: RegExpExecArray | null;
    if (char === "'") {
      const { value, end } = readString(soql, at);
      tokens.push({ kind: 'string', text: value, column });
      at = end;
    } else if ((match = DATETIME.exec(rest))) {
      tokens.push({ kind: 'datetime', text: match[0], column });
      at += match[0].length;
    } else if ((match = DATE.exec(rest))) {
      tokens.push({ kind: 'date', text: match[0], column });
      at += match[0].length;
    } else if ((match = NUMBER.exec(rest))) {
      tokens.push({ kind: 'number', text: match[0], column });
      at += match[0].length;
    } else if ((match = IDENT.exec(rest))) {
      tokens.push({ kind: 'ident', text: match[0], column });
      at += match[0].length;
    } else if ('(),'.includes(char)) {
      tokens.push({ kind: 'punct', text: char, column });
      at += 1;
    } else {
      const op = OPS.find((candidate) => rest.startsWith(candidate));
      if (!op) throw soqlError('MALFORMED_QUERY', soql, column, `unexpected token: '${char}'`);
      tokens.push({ kind: 'op', text: op, column });
      at += op.length;
    }
  }
  tokens.push({ kind: 'eof', text: '<EOF>', column: soql.length + 1 });
  return tokens;
}

function readString(soql: string, start: number): { value: string; end: number } {
  let value = '';
  let at = start + 1;
  while (at < soql.length) {
    const char = soql[at] as string;
    if (char === '\\') {
      const next = soql[at + 1] ?? '';
      const escaped = ESCAPES[next];
      if (escaped === undefined) throw soqlError('MALFORMED_QUERY', soql, at + 1, `Invalid string literal '${soql.slice(start, at + 2)}'. Illegal character sequence '\\${next}' in string literal.`);
      value += escaped;
      at += 2;
      continue;
    }
    if (char === "'") return { value, end: at + 1 };
    value += char;
    at += 1;
  }
  throw soqlError('MALFORMED_QUERY', soql, start + 1, `unexpected token: '${soql.slice(start)}'`);
}
