import { edmTypeName, type ColumnType, type EntitySetDefinition } from './entity-sets';
import { badQuery, propertyNotFound } from './errors';
import type { Row } from './store';

/**
 * A real tokenizer and recursive-descent parser for the $filter subset connectors use:
 * comparisons (eq ne gt ge lt le), and/or/not, parentheses, contains/startswith/endswith, and
 * string, GUID, datetime, date, number, boolean and null literals, type-checked against the
 * column as the OData layer of Dataverse does.
 */
export type Literal =
  | { kind: 'string'; value: string }
  | { kind: 'guid'; value: string }
  | { kind: 'datetime'; value: number }
  | { kind: 'date'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' };

export type ComparisonOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

export type FilterNode =
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; operand: FilterNode }
  | { kind: 'compare'; operator: ComparisonOperator; column: string; literal: Literal }
  | { kind: 'function'; name: 'contains' | 'startswith' | 'endswith'; column: string; value: string }
  /** `Microsoft.Dynamics.CRM.In(PropertyName='x',PropertyValues=['a','b'])` [D34]. */
  | { kind: 'in'; column: string; values: string[] };

type Token =
  | { kind: 'open' | 'close' | 'comma' | 'equals' | 'lbracket' | 'rbracket'; position: number }
  | { kind: 'word'; text: string; position: number }
  | { kind: 'literal'; literal: Literal; position: number };

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})/;
const DATE = /^\d{4}-\d{2}-\d{2}(?![\dT])/;
const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?(?![\w-])/;
const WORD = /^[A-Za-z_][A-Za-z0-9_]*/;
const COMPARISONS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const FUNCTIONS = new Set(['contains', 'startswith', 'endswith']);
const OPERATOR_KIND: Record<ComparisonOperator, string> = {
  eq: 'Equal',
  ne: 'NotEqual',
  gt: 'GreaterThan',
  ge: 'GreaterThanOrEqual',
  lt: 'LessThan',
  le: 'LessThanOrEqual',
};

function syntaxError(position: number, text: string): never {
  throw badQuery(`Syntax error at position ${position} in '${text}'.`);
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const char = text[i] as string;
    if (char === ' ' || char === '\t') {
      i += 1;
      continue;
    }
    if (char === '(' || char === ')' || char === ',') {
      tokens.push({ kind: char === '(' ? 'open' : char === ')' ? 'close' : 'comma', position: i });
      i += 1;
      continue;
    }
    if (char === '=' || char === '[' || char === ']') {
      tokens.push({ kind: char === '=' ? 'equals' : char === '[' ? 'lbracket' : 'rbracket', position: i });
      i += 1;
      continue;
    }
    // Dataverse query functions are namespace-qualified: `Microsoft.Dynamics.CRM.In(...)`.
    const qualified = /^Microsoft\.Dynamics\.CRM\.[A-Za-z]+/.exec(text.slice(i));
    if (qualified) {
      tokens.push({ kind: 'word', text: qualified[0], position: i });
      i += qualified[0].length;
      continue;
    }
    if (char === "'") {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw badQuery(`There is an unterminated string literal at position ${i} in '${text}'.`);
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += text[j];
        j += 1;
      }
      tokens.push({ kind: 'literal', literal: { kind: 'string', value }, position: i });
      i = j + 1;
      continue;
    }
    const rest = text.slice(i);
    const guid = GUID.exec(rest);
    if (guid && !/^\d{4}-\d{2}-\d{2}/.test(rest)) {
      tokens.push({ kind: 'literal', literal: { kind: 'guid', value: guid[0].toLowerCase() }, position: i });
      i += guid[0].length;
      continue;
    }
    const datetime = DATETIME.exec(rest);
    if (datetime) {
      const value = Date.parse(datetime[0]);
      if (Number.isNaN(value)) syntaxError(i, text);
      tokens.push({ kind: 'literal', literal: { kind: 'datetime', value }, position: i });
      i += datetime[0].length;
      continue;
    }
    const date = DATE.exec(rest);
    if (date) {
      tokens.push({ kind: 'literal', literal: { kind: 'date', value: date[0] }, position: i });
      i += date[0].length;
      continue;
    }
    const number = NUMBER.exec(rest);
    if (number) {
      tokens.push({ kind: 'literal', literal: { kind: 'number', value: Number(number[0]) }, position: i });
      i += number[0].length;
      continue;
    }
    const word = WORD.exec(rest);
    if (word) {
      const text = word[0];
      if (text === 'null') tokens.push({ kind: 'literal', literal: { kind: 'null' }, position: i });
      else if (text === 'true' || text === 'false') tokens.push({ kind: 'literal', literal: { kind: 'boolean', value: text === 'true' }, position: i });
      else tokens.push({ kind: 'word', text, position: i });
      i += text.length;
      continue;
    }
    syntaxError(i, text);
  }
  return tokens;
}

class FilterParser {
  private index = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly text: string,
    private readonly definition: EntitySetDefinition,
  ) {}

  parse(): FilterNode {
    const node = this.parseOr();
    const extra = this.tokens[this.index];
    if (extra) syntaxError(extra.position, this.text);
    return node;
  }

  private parseOr(): FilterNode {
    let left = this.parseAnd();
    while (this.peekWord('or')) {
      this.index += 1;
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): FilterNode {
    let left = this.parseUnary();
    while (this.peekWord('and')) {
      this.index += 1;
      left = { kind: 'and', left, right: this.parseUnary() };
    }
    return left;
  }

  private parseUnary(): FilterNode {
    if (this.peekWord('not')) {
      this.index += 1;
      return { kind: 'not', operand: this.parseUnary() };
    }
    const token = this.next();
    if (token.kind === 'open') {
      const inner = this.parseOr();
      this.expect('close');
      return inner;
    }
    if (token.kind !== 'word') syntaxError(token.position, this.text);
    if (token.text === 'Microsoft.Dynamics.CRM.In') return this.parseIn();
    if (token.text.startsWith('Microsoft.Dynamics.CRM.')) throw badQuery(`The query function '${token.text}' is not supported by this sandbox.`);
    if (FUNCTIONS.has(token.text) && this.tokens[this.index]?.kind === 'open') return this.parseFunction(token.text as 'contains');
    const column = this.column(token.text);
    const operator = this.next();
    if (operator.kind !== 'word' || !COMPARISONS.has(operator.text)) syntaxError(operator.position, this.text);
    const value = this.next();
    if (value.kind !== 'literal') {
      if (value.kind === 'word') throw propertyNotFound(value.text, this.definition.logicalName);
      syntaxError(value.position, this.text);
    }
    const op = operator.text as ComparisonOperator;
    this.checkType(column, op, value.literal);
    return { kind: 'compare', operator: op, column, literal: value.literal };
  }

  private parseFunction(name: 'contains' | 'startswith' | 'endswith'): FilterNode {
    this.expect('open');
    const columnToken = this.next();
    if (columnToken.kind !== 'word') syntaxError(columnToken.position, this.text);
    const column = this.column(columnToken.text);
    this.expect('comma');
    const value = this.next();
    if (value.kind !== 'literal' || value.literal.kind !== 'string') syntaxError(value.position, this.text);
    this.expect('close');
    return { kind: 'function', name, column, value: value.literal.value };
  }

  /** `(PropertyName='record1id',PropertyValues=['a','b'])`: a lookup is named by its attribute, not `_x_value`. */
  private parseIn(): FilterNode {
    this.expect('open');
    const args = new Map<string, Token[]>();
    for (;;) {
      const name = this.next();
      if (name.kind !== 'word' || (name.text !== 'PropertyName' && name.text !== 'PropertyValues')) syntaxError(name.position, this.text);
      this.expect('equals');
      const value: Token[] = [];
      if (this.tokens[this.index]?.kind === 'lbracket') {
        this.index += 1;
        while (this.tokens[this.index]?.kind !== 'rbracket') {
          const item = this.next();
          if (item.kind !== 'comma') value.push(item);
        }
        this.index += 1;
      } else value.push(this.next());
      args.set(name.text, value);
      const separator = this.next();
      if (separator.kind === 'close') break;
      if (separator.kind !== 'comma') syntaxError(separator.position, this.text);
    }
    const property = args.get('PropertyName')?.[0];
    const values = args.get('PropertyValues');
    if (property?.kind !== 'literal' || property.literal.kind !== 'string' || !values) throw badQuery("The query function 'Microsoft.Dynamics.CRM.In' needs PropertyName and PropertyValues.");
    const attribute = property.literal.value;
    const column = Object.hasOwn(this.definition.columns, attribute) ? attribute : `_${attribute}_value`;
    this.column(Object.hasOwn(this.definition.columns, column) ? column : attribute);
    const texts = values.map((item) => {
      if (item.kind !== 'literal' || item.literal.kind !== 'string') syntaxError(item.position, this.text);
      return item.literal.value.toLowerCase();
    });
    return { kind: 'in', column, values: texts };
  }

  private column(name: string): string {
    if (!Object.hasOwn(this.definition.columns, name)) throw propertyNotFound(name, this.definition.logicalName);
    return name;
  }

  private checkType(column: string, operator: ComparisonOperator, literal: Literal): void {
    if (literal.kind === 'null') return;
    const type = this.definition.columns[column]?.type ?? 'string';
    const compatible =
      literal.kind === type || (type === 'datetime' && literal.kind === 'date') || (type === 'date' && literal.kind === 'datetime');
    if (compatible) return;
    const literalType = literal.kind === 'number' ? (Number.isInteger(literal.value) ? 'Edm.Int32' : 'Edm.Decimal') : edmTypeName[literal.kind];
    throw badQuery(
      `A binary operator with incompatible types was detected. Found operand types '${edmTypeName[type]}' and '${literalType}' for operator kind '${OPERATOR_KIND[operator]}'.`,
    );
  }

  private peekWord(word: string): boolean {
    const token = this.tokens[this.index];
    return token?.kind === 'word' && token.text === word;
  }

  private next(): Token {
    const token = this.tokens[this.index];
    if (!token) syntaxError(this.text.length, this.text);
    this.index += 1;
    return token;
  }

  private expect(kind: 'open' | 'close' | 'comma' | 'equals'): void {
    const token = this.next();
    if (token.kind !== kind) syntaxError(token.position, this.text);
  }
}

export function parseFilter(text: string, definition: EntitySetDefinition): FilterNode {
  const tokens = tokenize(text);
  if (tokens.length === 0) syntaxError(0, text);
  return new FilterParser(tokens, text, definition).parse();
}

/** Comparable form of a stored value: strings compare case-insensitively (SQL collation). */
function comparable(value: unknown, type: ColumnType | undefined): string | number | boolean | null {
  if (value === null || value === undefined) return null;
  if (type === 'datetime') return typeof value === 'string' ? Date.parse(value) : null;
  if (typeof value === 'string') return value.toLowerCase();
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}

function literalComparable(literal: Literal, type: ColumnType | undefined): string | number | boolean | null {
  switch (literal.kind) {
    case 'null':
      return null;
    case 'datetime':
      return type === 'date' ? new Date(literal.value).toISOString().slice(0, 10) : literal.value;
    case 'date':
      return type === 'datetime' ? Date.parse(`${literal.value}T00:00:00Z`) : literal.value;
    case 'string':
      return literal.value.toLowerCase();
    default:
      return literal.value;
  }
}

export function compareValues(a: string | number | boolean | null, b: string | number | boolean | null): number {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

export function evaluateFilter(node: FilterNode, row: Row, definition: EntitySetDefinition): boolean {
  switch (node.kind) {
    case 'and':
      return evaluateFilter(node.left, row, definition) && evaluateFilter(node.right, row, definition);
    case 'or':
      return evaluateFilter(node.left, row, definition) || evaluateFilter(node.right, row, definition);
    case 'not':
      return !evaluateFilter(node.operand, row, definition);
    case 'in': {
      const value = row[node.column];
      const text = typeof value === 'string' ? value : typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
      return text !== undefined && node.values.includes(text.toLowerCase());
    }
    case 'function': {
      const value = row[node.column];
      if (typeof value !== 'string') return false;
      const haystack = value.toLowerCase();
      const needle = node.value.toLowerCase();
      if (node.name === 'contains') return haystack.includes(needle);
      return node.name === 'startswith' ? haystack.startsWith(needle) : haystack.endsWith(needle);
    }
    case 'compare': {
      const type = definition.columns[node.column]?.type;
      const left = comparable(row[node.column], type);
      const right = literalComparable(node.literal, type);
      if (node.operator === 'eq') return left === right;
      if (node.operator === 'ne') return left !== right;
      // SQL semantics: ordering comparisons with null are never true.
      if (left === null || right === null) return false;
      const order = compareValues(left, right);
      if (node.operator === 'gt') return order > 0;
      if (node.operator === 'ge') return order >= 0;
      if (node.operator === 'lt') return order < 0;
      return order <= 0;
    }
  }
}

export interface OrderBy {
  column: string;
  descending: boolean;
}

export function parseOrderBy(text: string, definition: EntitySetDefinition): OrderBy[] {
  return text.split(',').map((part) => {
    const [column = '', direction, ...extra] = part.trim().split(/\s+/);
    if (!Object.hasOwn(definition.columns, column)) throw propertyNotFound(column, definition.logicalName);
    if (extra.length > 0 || (direction !== undefined && direction !== 'asc' && direction !== 'desc')) {
      throw badQuery(`Syntax error at position ${part.length} in '${text}'.`);
    }
    return { column, descending: direction === 'desc' };
  });
}

export function parseSelect(text: string, definition: EntitySetDefinition): string[] {
  return text.split(',').map((part) => {
    const column = part.trim();
    if (!Object.hasOwn(definition.columns, column)) throw propertyNotFound(column, definition.logicalName);
    return column;
  });
}

/** Sort key of a row for one column, shared by $orderby and the paging cookie. */
export function sortValue(row: Row, column: string, definition: EntitySetDefinition): string | number | boolean | null {
  return comparable(row[column], definition.columns[column]?.type);
}
