import { SalesforceApiError } from './errors';

/** Which fields a SOSL search looks in (`IN ... FIELDS`); ALL when the clause is absent [S48]. */
export type SearchGroup = 'ALL' | 'NAME' | 'EMAIL' | 'PHONE';

/** One word or quoted phrase: its tokens, each a pattern that may carry `*` or `?` wildcards. */
export type SearchTerm = RegExp[];

/** `RETURNING Type(fields WHERE ... ORDER BY ... LIMIT n)`: the inner text is SOQL after SELECT. */
export interface ReturningSpec {
  type: string;
  /** `Id` when the object is named without a field list [S48]. */
  fields: string;
  /** WHERE / ORDER BY / LIMIT / OFFSET of the object, as SOQL text (may be empty). */
  clauses: string;
}

export interface SoslSearch {
  /** Alternatives joined by OR; inside one, every term must match (words are ANDed). */
  anyOf: SearchTerm[][];
  group: SearchGroup;
  /** Undefined: every searchable object, Ids only. */
  returning?: ReturningSpec[];
  limit: number;
}

/** The most rows one search returns, and the default when LIMIT is absent [S48]. */
export const MAX_SEARCH_ROWS = 2000;

/**
 * Parses the SOSL subset the sandbox serves: `FIND {terms} [IN ALL|NAME|EMAIL|PHONE FIELDS]
 * [RETURNING Type[(fields [WHERE ...] [ORDER BY ...] [LIMIT n])], ...] [LIMIT n]`. Terms are words
 * and quoted phrases, joined by spaces or AND (all must match) or OR; `*` and `?` wildcards.
 * Anything else (AND NOT, parentheses, WITH clauses) is a MALFORMED_SEARCH naming the gap,
 * never silently ignored.
 */
export function parseSosl(sosl: string): SoslSearch {
  const find = /^\s*FIND\s*\{((?:\\.|[^\\}])*)\}\s*/i.exec(sosl);
  if (!find) throw malformed('No search term found. The search term must be enclosed in braces.');
  const anyOf = parseTerms(find[1] as string);
  let rest = sosl.slice(find[0].length);
  let group: SearchGroup = 'ALL';
  const inClause = /^IN\s+(ALL|NAME|EMAIL|PHONE)\s+FIELDS\b\s*/i.exec(rest);
  if (inClause) {
    group = (inClause[1] as string).toUpperCase() as SearchGroup;
    rest = rest.slice(inClause[0].length);
  }
  let returning: ReturningSpec[] | undefined;
  if (/^RETURNING\b/i.test(rest)) {
    const parsed = parseReturning(rest.replace(/^RETURNING\s*/i, ''));
    returning = parsed.specs;
    rest = parsed.rest;
  }
  let limit = MAX_SEARCH_ROWS;
  const limitClause = /^LIMIT\s+(\d+)\s*/i.exec(rest);
  if (limitClause) {
    limit = Math.min(MAX_SEARCH_ROWS, Number(limitClause[1]));
    rest = rest.slice(limitClause[0].length);
  }
  if (rest.trim() !== '') throw malformed(`unexpected token: '${rest.trim().split(/\s+/)[0] ?? ''}' (this sandbox emulates FIND, IN ... FIELDS, RETURNING and LIMIT)`);
  return { anyOf, group, ...(returning ? { returning } : {}), limit };
}

/** Field values split into lower-case tokens at spaces and punctuation, as the search index does [S48]. */
export function tokenize(text: string): string[] {
  return splitTokens(text, /[^\p{L}\p{N}]+/u);
}

function splitTokens(text: string, separator: RegExp): string[] {
  return text.toLowerCase().split(separator).filter((token) => token !== '');
}

/** True when every term of one alternative occurs, a phrase as consecutive tokens of one field. */
export function matchesSearch(search: SoslSearch, fieldTokens: string[][]): boolean {
  return search.anyOf.some((terms) => terms.every((term) => fieldTokens.some((tokens) => containsPhrase(tokens, term))));
}

function containsPhrase(tokens: string[], term: SearchTerm): boolean {
  for (let start = 0; start + term.length <= tokens.length; start += 1) {
    if (term.every((pattern, offset) => pattern.test(tokens[start + offset] as string))) return true;
  }
  return false;
}

function parseTerms(text: string): SearchTerm[][] {
  const parts = text.match(/"(?:\\.|[^"\\])*"|\S+/g) ?? [];
  const anyOf: SearchTerm[][] = [[]];
  let longest = 0;
  for (const part of parts) {
    const upper = part.toUpperCase();
    if (upper === 'OR') {
      anyOf.push([]);
      continue;
    }
    if (upper === 'AND') continue;
    const quoted = part.startsWith('"');
    if (upper === 'NOT' || (!quoted && /[()]/.test(part))) throw malformed(`'${part}': AND NOT and grouping parentheses are not emulated by this sandbox`);
    const phrase = quoted ? part.slice(1, -1) : part;
    // Wildcards stay inside the tokens they qualify.
    const tokens = splitTokens(phrase.replace(/\\(.)/g, '$1'), /[^\p{L}\p{N}*?]+/u);
    if (tokens.length > 0) (anyOf[anyOf.length - 1] as SearchTerm[]).push(tokens.map(pattern));
    longest = Math.max(longest, ...tokens.map((token) => token.replace(/[*?]/g, '').length));
  }
  const usable = anyOf.filter((terms) => terms.length > 0);
  if (usable.length === 0 || longest < 2) {
    throw new SalesforceApiError(400, 'INVALID_SEARCH', 'search term must be longer than one character');
  }
  return usable;
}

/** `*` = any run of characters, `?` = exactly one [S48]. */
function pattern(token: string): RegExp {
  const source = token.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`);
}

function parseReturning(text: string): { specs: ReturningSpec[]; rest: string } {
  const specs: ReturningSpec[] = [];
  let rest = text;
  for (;;) {
    const name = /^([A-Za-z][A-Za-z0-9_]*)\s*/.exec(rest);
    if (!name) throw malformed(`RETURNING: an object name is expected at '${rest.trim().split(/\s+/)[0] ?? ''}'`);
    rest = rest.slice(name[0].length);
    let fields = 'Id';
    let clauses = '';
    if (rest.startsWith('(')) {
      const close = closingParen(rest);
      const inner = rest.slice(1, close).trim();
      rest = rest.slice(close + 1).replace(/^\s*/, '');
      // A field list holds no quotes, so the first clause keyword ends it.
      const keyword = /\s(WHERE|ORDER\s+BY|LIMIT|OFFSET)\s/i.exec(` ${inner} `);
      fields = (keyword ? inner.slice(0, Math.max(0, keyword.index - 1)) : inner).trim();
      clauses = keyword ? inner.slice(keyword.index).trim() : '';
      if (fields === '') throw malformed(`RETURNING ${name[1] as string}(): a field list is expected`);
    }
    specs.push({ type: name[1] as string, fields, clauses });
    const comma = /^,\s*/.exec(rest);
    if (!comma) return { specs, rest };
    rest = rest.slice(comma[0].length);
  }
}

/** Index of the parenthesis closing the one at 0, skipping quoted strings. */
function closingParen(text: string): number {
  let depth = 0;
  let quoted = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (quoted) {
      if (char === '\\') index += 1;
      else if (char === "'") quoted = false;
      continue;
    }
    if (char === "'") quoted = true;
    else if (char === '(') depth += 1;
    else if (char === ')' && (depth -= 1) === 0) return index;
  }
  throw malformed('RETURNING: unbalanced parentheses');
}

const malformed = (reason: string): SalesforceApiError => new SalesforceApiError(400, 'MALFORMED_SEARCH', reason);
