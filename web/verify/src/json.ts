// A JSON reader that keeps what JSON.parse loses and the Go verifier looks
// at: numbers as their text (64-bit integers stay exact), and every member
// of an object in order, a name given twice included. Syntax is RFC 8259,
// as Go's encoding/json reads it.

/**
 * A JSON value: null, boolean, string, number (as text), array or object.
 * A string written with a backslash escape is a JString, which keeps its
 * raw text too: CometBFT reads hex, 64-bit integers and times from the raw
 * text between the quotes, where an escape is an error.
 */
export type JValue = null | boolean | string | JString | JNumber | JValue[] | JObject;

/** A JSON string that holds an escape: its value and its raw text between the quotes. */
export class JString {
  constructor(
    readonly value: string,
    readonly raw: string,
  ) {}
}

/** asString is the value of a JSON string (escaped or not), or null for any other value. */
export function asString(v: JValue | undefined): string | null {
  if (typeof v === "string") return v;
  if (v instanceof JString) return v.value;
  return null;
}

/** A JSON number, kept as its text. */
export class JNumber {
  constructor(readonly text: string) {}
}

/** A JSON object: its members in order, duplicates kept. */
export class JObject {
  constructor(readonly members: [string, JValue][]) {}
  /** The value of the last member named name (CometBFT's and Go's rule for a name given twice). */
  get(name: string): JValue | undefined {
    let v: JValue | undefined;
    for (const [k, x] of this.members) if (k === name) v = x;
    return v;
  }
}

/** JSONError is a syntax error, with the offset where it was found. */
export class JSONError extends Error {}

/** parseJSON reads one JSON value; white space may surround it, nothing else. */
export function parseJSON(text: string): JValue {
  const p = new Parser(text);
  p.ws();
  const v = p.value(0);
  p.ws();
  if (p.i !== text.length) throw new JSONError(`invalid character ${JSON.stringify(text[p.i])} after top-level value at offset ${p.i}`);
  return v;
}

const maxDepth = 10000; // Go's encoding/json limit

class Parser {
  i = 0;
  constructor(readonly s: string) {}

  ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      this.i++;
    }
  }

  fail(what: string): never {
    if (this.i >= this.s.length) throw new JSONError(`unexpected end of JSON input (${what})`);
    throw new JSONError(`invalid character ${JSON.stringify(this.s[this.i])} at offset ${this.i} (${what})`);
  }

  value(depth: number): JValue {
    if (depth > maxDepth) throw new JSONError("exceeded max depth");
    const s = this.s;
    const c = s[this.i];
    switch (c) {
      case "{": {
        this.i++;
        const members: [string, JValue][] = [];
        this.ws();
        if (s[this.i] === "}") {
          this.i++;
          return new JObject(members);
        }
        for (;;) {
          this.ws();
          if (s[this.i] !== '"') this.fail("looking for beginning of object key string");
          const k = asString(this.string())!;
          this.ws();
          if (s[this.i] !== ":") this.fail("after object key");
          this.i++;
          this.ws();
          members.push([k, this.value(depth + 1)]);
          this.ws();
          if (s[this.i] === ",") {
            this.i++;
            continue;
          }
          if (s[this.i] === "}") {
            this.i++;
            return new JObject(members);
          }
          this.fail("after object key:value pair");
        }
      }
      case "[": {
        this.i++;
        const items: JValue[] = [];
        this.ws();
        if (s[this.i] === "]") {
          this.i++;
          return items;
        }
        for (;;) {
          this.ws();
          items.push(this.value(depth + 1));
          this.ws();
          if (s[this.i] === ",") {
            this.i++;
            continue;
          }
          if (s[this.i] === "]") {
            this.i++;
            return items;
          }
          this.fail("after array element");
        }
      }
      case '"':
        return this.string();
      case "t":
        return this.literal("true", true);
      case "f":
        return this.literal("false", false);
      case "n":
        return this.literal("null", null);
      default:
        return this.number();
    }
  }

  literal<T extends JValue>(word: string, v: T): T {
    if (this.s.startsWith(word, this.i)) {
      this.i += word.length;
      return v;
    }
    this.fail("in literal " + word);
  }

  number(): JNumber {
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(this.s.slice(this.i, this.i + 1100));
    if (!m) this.fail("looking for beginning of value");
    this.i += m[0].length;
    return new JNumber(m[0]);
  }

  string(): string | JString {
    const s = this.s;
    this.i++; // the opening quote
    const first = this.i;
    let escaped = false;
    let out = "";
    let start = this.i;
    for (;;) {
      if (this.i >= s.length) this.fail("in string literal");
      const c = s.charCodeAt(this.i);
      if (c === 0x22) {
        out += s.slice(start, this.i);
        this.i++;
        return escaped ? new JString(goString(out), s.slice(first, this.i - 1)) : out;
      }
      if (c < 0x20) this.fail("in string literal");
      if (c !== 0x5c) {
        this.i++;
        continue;
      }
      out += s.slice(start, this.i);
      escaped = true;
      const e = s[this.i + 1];
      const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
      if (e !== undefined && e in simple) {
        out += simple[e];
        this.i += 2;
      } else if (e === "u") {
        const hex = s.slice(this.i + 2, this.i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
          this.i += 2;
          this.fail("in \\u hexadecimal character escape");
        }
        out += String.fromCharCode(parseInt(hex, 16));
        this.i += 6;
      } else {
        this.i++;
        this.fail("in string escape code");
      }
      start = this.i;
    }
  }
}

/** Lone surrogates become U+FFFD, as Go's decoder turns invalid UTF-16 escapes into it. */
function goString(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, "\uFFFD");
}
