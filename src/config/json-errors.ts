// Where JSON text is broken, and why, in words that do not depend on the Node.js version: V8's
// messages differ between releases (Node 24 adds "(line L column C)"; some messages carry no
// position at all) and point at the token after a trailing comma, possibly lines later. This small
// scanner runs only after JSON.parse has failed, so it never costs anything on good files.

/** A syntax error in JSON text: character offset and a short phrase. */
export interface JsonSyntaxError {
  readonly offset: number;
  readonly what: string;
}

class Found extends Error {
  constructor(
    readonly offset: number,
    readonly what: string,
  ) {
    super(what);
  }
}

const WS = new Set([' ', '\t', '\n', '\r']);

/** Finds the first syntax error in `text`, or undefined when it is valid JSON. */
export function findJsonError(text: string): JsonSyntaxError | undefined {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && WS.has(text[i] as string)) i++;
  };
  const describe = (c: string | undefined): string => (c === undefined ? 'the end of the file' : `"${c}"`);
  const fail = (what: string, at = i): never => {
    throw new Found(at, what);
  };
  const string = (): void => {
    const start = i;
    i++; // opening quote
    for (;;) {
      const c = text[i];
      if (c === undefined || c === '\n') fail('unterminated string (a string must end with " on the same line)', start);
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('bad \\u escape (4 hex digits expected)');
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail(`bad escape "\\${e ?? ''}" in a string`);
      } else if (c !== undefined && c < ' ') fail('control character in a string (escape it)');
      else i++;
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') return object();
    if (c === '[') return array();
    if (c === '"') return string();
    if (c === "'") fail('single quotes (JSON strings use double quotes)');
    const num = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (num && num[0] !== '' && num[0] !== '-') {
      i += num[0].length;
      return;
    }
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    const bare = /^[A-Za-z_$][\w$.-]*/.exec(text.slice(i, i + 100));
    if (bare) fail(`unexpected word ${JSON.stringify(bare[0])} (strings need double quotes; true, false and null are lower case)`);
    fail(`expected a value, found ${describe(c)}`);
  };
  const object = (): void => {
    i++; // {
    ws();
    if (text[i] === '}') {
      i++;
      return;
    }
    for (;;) {
      ws();
      const c = text[i];
      if (c !== '"') {
        if (/[A-Za-z_$]/.test(c ?? '')) fail('property name without double quotes');
        if (c === "'") fail('single quotes (property names use double quotes)');
        fail(`expected a property name in double quotes, found ${describe(c)}`);
      }
      string();
      ws();
      if (text[i] !== ':') fail(`expected ":" after the property name, found ${describe(text[i])}`);
      i++;
      value();
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      if (text[i] !== ',') fail(`expected "," or "}" after a property, found ${describe(text[i])}`);
      const comma = i;
      i++;
      ws();
      if (text[i] === '}') fail('trailing comma (JSON allows no comma before "}")', comma);
    }
  };
  const array = (): void => {
    i++; // [
    ws();
    if (text[i] === ']') {
      i++;
      return;
    }
    for (;;) {
      value();
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      if (text[i] !== ',') fail(`expected "," or "]" after an array element, found ${describe(text[i])}`);
      const comma = i;
      i++;
      ws();
      if (text[i] === ']') fail('trailing comma (JSON allows no comma before "]")', comma);
    }
  };
  try {
    value();
    ws();
    if (i < text.length) fail(`unexpected ${describe(text[i])} after the end of the JSON value`);
    return undefined;
  } catch (e) {
    if (e instanceof Found) return { offset: e.offset, what: e.what };
    throw e;
  }
}

/** The position V8 gives in a JSON.parse message (Node 20: "at position N"; Node 24 adds line and column), if any. */
export function positionInMessage(message: string): number | undefined {
  const m = /at position (\d+)/.exec(message);
  return m ? Number(m[1]) : undefined;
}

/** Line and column (1-based) of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text.charCodeAt(k) === 10) {
      line++;
      lineStart = k + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

// YAML lines: a document marker, a list item, `key:` ending the line, or `key: value` whose value
// no JSON value could start with (`path: /healthz`). `servers: []` is more likely a JavaScript habit.
const YAML_LINE = /^\s*(?:---\s*$|-\s+\S|[A-Za-z_][\w.-]*\s*:(?:\s*$|\s+[^\s"'{[\d\-tfn]))/;
const YAML_ANY_LINE = /^\s*(?:-\s+\S|[A-Za-z_][\w.-]*\s*:(?:\s|$))/m;

/** True when the line holding `offset` reads as YAML, or the whole file does (it does not start with "{" or "["). */
export function looksLikeYaml(text: string, offset: number): boolean {
  const start = text.lastIndexOf('\n', offset - 1) + 1;
  const end = text.indexOf('\n', offset);
  const line = text.slice(start, end === -1 ? text.length : end);
  if (YAML_LINE.test(line)) return true;
  return !/^\s*[{[]/.test(text) && YAML_ANY_LINE.test(text);
}
