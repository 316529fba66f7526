/**
 * A forgiving JSON reader for what language models actually emit: single-quoted strings, unquoted
 * keys, trailing commas, Python literals (None/True/False), and the non-finite number words NaN and
 * Infinity (read as numbers so the caller can reject them by field, rather than failing as syntax).
 * It is a small recursive-descent parser, not a regex rewrite, so quotes inside strings stay intact.
 */

export class LenientJsonError extends Error {
  override name = 'LenientJsonError';
  readonly position: number;
  constructor(message: string, position: number) {
    super(`${message} at position ${position}`);
    this.position = position;
  }
}

export type LenientValue =
  null | boolean | number | string | LenientValue[] | { [key: string]: LenientValue };

const LITERALS: Record<string, LenientValue> = {
  null: null,
  none: null,
  true: true,
  false: false,
  nan: Number.NaN,
  infinity: Number.POSITIVE_INFINITY,
  inf: Number.POSITIVE_INFINITY,
};

class Reader {
  pos = 0;
  constructor(readonly text: string) {}

  fail(message: string): never {
    throw new LenientJsonError(message, this.pos);
  }

  skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos] as string)) this.pos++;
  }

  peek(): string {
    this.skipSpace();
    return this.text[this.pos] ?? '';
  }

  value(depth: number): LenientValue {
    if (depth > 32) this.fail('nesting too deep');
    const c = this.peek();
    if (c === '{') return this.object(depth);
    if (c === '[') return this.array(depth);
    if (c === '"' || c === "'") return this.string();
    if (c === '') this.fail('unexpected end of text');
    if (/[-+0-9.]/.test(c)) return this.number();
    const word = this.word();
    const lit = LITERALS[word.toLowerCase()];
    if (lit === undefined) this.fail(`unexpected ${JSON.stringify(word || c)}`);
    return lit;
  }

  word(): string {
    const start = this.pos;
    while (this.pos < this.text.length && /[A-Za-z0-9_$]/.test(this.text[this.pos] as string)) this.pos++;
    return this.text.slice(start, this.pos);
  }

  number(): number {
    const start = this.pos;
    let sign = 1;
    const c = this.text[this.pos];
    if (c === '-' || c === '+') {
      if (c === '-') sign = -1;
      this.pos++;
      const rest = this.text.slice(this.pos, this.pos + 8).toLowerCase();
      if (rest.startsWith('inf') || rest.startsWith('nan')) {
        const word = this.word().toLowerCase();
        const lit = LITERALS[word];
        if (typeof lit !== 'number')
          this.fail(`bad number ${JSON.stringify(this.text.slice(start, this.pos))}`);
        return sign * lit;
      }
    }
    const m = /^(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.exec(this.text.slice(this.pos));
    if (!m) this.fail('bad number');
    this.pos += m[0].length;
    return sign * Number(m[0]);
  }

  string(): string {
    const quote = this.text[this.pos] as string;
    this.pos++;
    let out = '';
    while (this.pos < this.text.length) {
      const c = this.text[this.pos] as string;
      this.pos++;
      if (c === quote) return out;
      if (c === '\\') {
        const e = this.text[this.pos] ?? '';
        this.pos++;
        if (e === 'n') out += '\n';
        else if (e === 't') out += '\t';
        else if (e === 'r') out += '\r';
        else if (e === 'u') {
          const hex = this.text.slice(this.pos, this.pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('bad \\u escape');
          out += String.fromCharCode(parseInt(hex, 16));
          this.pos += 4;
        } else out += e;
      } else out += c;
    }
    return this.fail('unterminated string');
  }

  key(): string {
    const c = this.peek();
    if (c === '"' || c === "'") return this.string();
    const w = this.word();
    if (!w) this.fail(`expected a key, found ${JSON.stringify(c)}`);
    return w;
  }

  object(depth: number): { [key: string]: LenientValue } {
    this.pos++; // '{'
    const out: { [key: string]: LenientValue } = {};
    for (;;) {
      if (this.peek() === '}') {
        this.pos++;
        return out;
      }
      const k = this.key();
      if (this.peek() !== ':') this.fail(`expected ':' after key ${JSON.stringify(k)}`);
      this.pos++;
      out[k] = this.value(depth + 1);
      const c = this.peek();
      if (c === ',') this.pos++;
      else if (c !== '}') this.fail(`expected ',' or '}'`);
    }
  }

  array(depth: number): LenientValue[] {
    this.pos++; // '['
    const out: LenientValue[] = [];
    for (;;) {
      if (this.peek() === ']') {
        this.pos++;
        return out;
      }
      out.push(this.value(depth + 1));
      const c = this.peek();
      if (c === ',') this.pos++;
      else if (c !== ']') this.fail(`expected ',' or ']'`);
    }
  }
}

/** Parses one lenient-JSON value that must span the whole text (surrounding whitespace allowed). */
export function parseLenientJson(text: string): LenientValue {
  const r = new Reader(text);
  const v = r.value(0);
  if (r.peek() !== '') r.fail('unexpected text after the value');
  return v;
}

/**
 * Top-level bracketed spans (`{…}` or `[…]`) in free text, left to right, skipping quoted
 * strings while matching brackets. An unbalanced opener is skipped, so prose such as
 * "(see [1" does not hide a later JSON object.
 */
export function findBracketSpans(text: string): string[] {
  const spans: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c !== '{' && c !== '[') {
      i++;
      continue;
    }
    const end = matchBracket(text, i);
    if (end < 0) {
      i++;
      continue;
    }
    spans.push(text.slice(i, end + 1));
    i = end + 1;
  }
  return spans;
}

function matchBracket(text: string, start: number): number {
  const stack: string[] = [];
  let quote: string | null = null;
  for (let i = start; i < text.length; i++) {
    const c = text[i] as string;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    // A quote only opens a string where JSON allows one (after a bracket, comma or colon); this
    // keeps apostrophes in prose ("the dog's tail") from swallowing the rest of the text.
    if (c === '"' || c === "'") {
      const prev = previousNonSpace(text, i);
      if (prev === '{' || prev === '[' || prev === ',' || prev === ':') quote = c;
      continue;
    }
    if (c === '{' || c === '[') stack.push(c === '{' ? '}' : ']');
    else if (c === '}' || c === ']') {
      if (stack.pop() !== c) return -1;
      if (stack.length === 0) return i;
    }
  }
  return -1;
}

function previousNonSpace(text: string, i: number): string {
  for (let j = i - 1; j >= 0; j--) {
    const c = text[j] as string;
    if (!/\s/.test(c)) return c;
  }
  return '';
}
