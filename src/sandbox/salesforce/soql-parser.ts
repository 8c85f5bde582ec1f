import { soqlError, tokenize, type Token } from './soql-lexer';

export type Literal =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  | { kind: 'datetime'; text: string }
  | { kind: 'date'; text: string };

export type ComparisonOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'IN' | 'NOT IN';

export interface FieldRef {
  name: string;
  column: number;
}

export type Condition =
  | { kind: 'and' | 'or'; operands: Condition[] }
  | { kind: 'not'; operand: Condition }
  | { kind: 'compare'; field: FieldRef; op: ComparisonOp; values: Literal[]; column: number };

export interface OrderItem {
  field: FieldRef;
  descending: boolean;
  nullsLast: boolean;
}

export interface SoqlQuery {
  /** Empty for `SELECT COUNT()`. */
  fields: FieldRef[];
  count: boolean;
  object: { name: string; column: number };
  where?: Condition;
  orderBy: OrderItem[];
  limit?: number;
  offset?: number;
}

/**
 * Recursive-descent parser for the SOQL subset the connectors use. Anything outside it is a
 * MALFORMED_QUERY in Salesforce's own message format, so unsupported syntax fails loudly.
 */
export function parseSoql(soql: string): SoqlQuery {
  return new Parser(soql).query();
}

class Parser {
  private readonly tokens: Token[];
  private at = 0;

  constructor(private readonly soql: string) {
    this.tokens = tokenize(soql);
  }

  query(): SoqlQuery {
    this.keyword('SELECT');
    const { fields, count } = this.selectList();
    this.keyword('FROM');
    const objectToken = this.expectIdent();
    const query: SoqlQuery = { fields, count, object: { name: objectToken.text, column: objectToken.column }, orderBy: [] };
    if (this.acceptKeyword('WHERE')) query.where = this.orCondition();
    if (this.acceptKeyword('ORDER')) {
      this.keyword('BY');
      query.orderBy = this.orderList();
    }
    if (this.acceptKeyword('LIMIT')) query.limit = this.integer();
    if (this.acceptKeyword('OFFSET')) query.offset = this.integer();
    const end = this.peek();
    if (end.kind !== 'eof') throw this.unexpected(end);
    return query;
  }

  private selectList(): { fields: FieldRef[]; count: boolean } {
    const first = this.peek();
    if (isKeyword(first, 'COUNT') && this.peek(1).text === '(') {
      this.next();
      this.punct('(');
      this.punct(')');
      return { fields: [], count: true };
    }
    const fields = [this.field()];
    while (this.acceptPunct(',')) fields.push(this.field());
    return { fields, count: false };
  }

  /** Mixing AND and OR at one level without parentheses is a parse error in SOQL too. */
  private orCondition(): Condition {
    const first = this.unary();
    const joiner = this.peek();
    if (!isKeyword(joiner, 'AND') && !isKeyword(joiner, 'OR')) return first;
    const kind = joiner.text.toUpperCase() === 'AND' ? 'and' : 'or';
    const operands = [first];
    while (this.acceptKeyword(kind.toUpperCase())) operands.push(this.unary());
    const stray = this.peek();
    if (isKeyword(stray, 'AND') || isKeyword(stray, 'OR')) throw this.unexpected(stray);
    return { kind, operands };
  }

  private unary(): Condition {
    if (this.acceptKeyword('NOT')) return { kind: 'not', operand: this.unary() };
    if (this.acceptPunct('(')) {
      const inner = this.orCondition();
      this.punct(')');
      return inner;
    }
    return this.comparison();
  }

  private comparison(): Condition {
    const field = this.field();
    const token = this.next();
    const column = token.column;
    if (token.kind === 'op') {
      const op = token.text === '<>' ? '!=' : (token.text as ComparisonOp);
      return { kind: 'compare', field, op, values: [this.literal()], column };
    }
    if (isKeyword(token, 'LIKE')) {
      const value = this.literal();
      return { kind: 'compare', field, op: 'LIKE', values: [value], column };
    }
    if (isKeyword(token, 'IN')) return { kind: 'compare', field, op: 'IN', values: this.literalList(), column };
    if (isKeyword(token, 'NOT') && this.acceptKeyword('IN')) return { kind: 'compare', field, op: 'NOT IN', values: this.literalList(), column };
    throw this.unexpected(token);
  }

  private literalList(): Literal[] {
    this.punct('(');
    const values = [this.literal()];
    while (this.acceptPunct(',')) values.push(this.literal());
    this.punct(')');
    return values;
  }

  private literal(): Literal {
    const token = this.next();
    switch (token.kind) {
      case 'string':
        return { kind: 'string', value: token.text };
      case 'number':
        return { kind: 'number', value: Number(token.text) };
      case 'datetime':
        return { kind: 'datetime', text: token.text };
      case 'date':
        return { kind: 'date', text: token.text };
      case 'ident': {
        const upper = token.text.toUpperCase();
        if (upper === 'TRUE' || upper === 'FALSE') return { kind: 'boolean', value: upper === 'TRUE' };
        if (upper === 'NULL') return { kind: 'null' };
        throw this.unexpected(token);
      }
      default:
        throw this.unexpected(token);
    }
  }

  private orderList(): OrderItem[] {
    const items: OrderItem[] = [];
    do {
      const field = this.field();
      let descending = false;
      if (this.acceptKeyword('DESC')) descending = true;
      else this.acceptKeyword('ASC');
      let nullsLast = descending;
      if (this.acceptKeyword('NULLS')) {
        if (this.acceptKeyword('LAST')) nullsLast = true;
        else {
          this.keyword('FIRST');
          nullsLast = false;
        }
      }
      items.push({ field, descending, nullsLast });
    } while (this.acceptPunct(','));
    return items;
  }

  private field(): FieldRef {
    const token = this.expectIdent();
    if (RESERVED.has(token.text.toUpperCase())) throw this.unexpected(token);
    return { name: token.text, column: token.column };
  }

  private integer(): number {
    const token = this.next();
    if (token.kind !== 'number' || !/^\d+$/.test(token.text)) throw this.unexpected(token);
    return Number(token.text);
  }

  private expectIdent(): Token {
    const token = this.next();
    if (token.kind !== 'ident') throw this.unexpected(token);
    return token;
  }

  private keyword(word: string): void {
    const token = this.next();
    if (!isKeyword(token, word)) throw this.unexpected(token);
  }

  private acceptKeyword(word: string): boolean {
    if (!isKeyword(this.peek(), word)) return false;
    this.at += 1;
    return true;
  }

  private punct(char: string): void {
    const token = this.next();
    if (token.kind !== 'punct' || token.text !== char) throw this.unexpected(token);
  }

  private acceptPunct(char: string): boolean {
    const token = this.peek();
    if (token.kind !== 'punct' || token.text !== char) return false;
    this.at += 1;
    return true;
  }

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.at + ahead, this.tokens.length - 1)] as Token;
  }

  private next(): Token {
    const token = this.peek();
    if (token.kind !== 'eof') this.at += 1;
    return token;
  }

  private unexpected(token: Token) {
    const text = token.kind === 'string' ? `'${token.text}'` : token.text;
    return soqlError('MALFORMED_QUERY', this.soql, token.column, `unexpected token: ${token.kind === 'eof' ? '<EOF>' : `'${text.replace(/^'|'$/g, '')}'`}`);
  }
}

const RESERVED = new Set(['SELECT', 'FROM', 'WHERE', 'AND', 'OR', 'NOT', 'ORDER', 'BY', 'LIMIT', 'OFFSET', 'LIKE', 'IN', 'NULL', 'TRUE', 'FALSE', 'ASC', 'DESC', 'NULLS', 'GROUP', 'HAVING', 'WITH', 'USING']);

function isKeyword(token: Token, word: string): boolean {
  return token.kind === 'ident' && token.text.toUpperCase() === word;
}
