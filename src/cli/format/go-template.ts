/**
 * A subset of Go's text/template, enough for docker's `--format`/`-f`:
 * fields and chains (`.State.Status`), variables (`$`, `$x := …`), pipes
 * (`.Id | printf "%.12s"`), parenthesized calls, `if`/`else if`/`else`,
 * `range` (with `$i, $v :=`), `with`, trim markers (`{{-`, `-}}`), comments,
 * and docker's function set (json, join, split, lower, upper, title, pad,
 * truncate) plus Go's builtins (index, len, print, printf, println, eq, ne,
 * lt, le, gt, ge, and, or, not).
 * https://pkg.go.dev/text/template
 *
 * Values print as Go's fmt %v would for decoded JSON: maps as
 * `map[k:v …]` with sorted keys, lists as `[a b]`, a missing key as
 * `<no value>`, null as `<nil>`.
 */
import { InvalidArgumentError } from "../../lib/errors.js";

export type TemplateFunc = (...args: unknown[]) => unknown;

// ---------- lexer ----------

type Tok =
  | { t: "field"; v: string[] } // .A.B  ([] for bare ".")
  | { t: "var"; v: string; fields: string[] } // $x.A
  | { t: "ident"; v: string }
  | { t: "string"; v: string }
  | { t: "number"; v: number }
  | { t: "bool"; v: boolean }
  | { t: "nil" }
  | { t: "pipe" }
  | { t: "lparen" }
  | { t: "rparen" }
  | { t: "rfields"; v: string[] } // .A.B right after a ")"
  | { t: "declare" }
  | { t: "assign" }
  | { t: "comma" };

type Piece = { kind: "text"; text: string } | { kind: "action"; toks: Tok[]; src: string };

function tplError(msg: string): InvalidArgumentError {
  return new InvalidArgumentError(`template parsing error: template: :1: ${msg}`);
}

function lexAction(src: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  const identRe = /[A-Za-z_][A-Za-z0-9_]*/y;
  const fieldChain = (): string[] => {
    const out: string[] = [];
    while (src[i] === "." && /[A-Za-z_]/.test(src[i + 1] ?? "")) {
      i++;
      identRe.lastIndex = i;
      const m = identRe.exec(src)!;
      out.push(m[0]);
      i += m[0].length;
    }
    return out;
  };
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "|") {
      toks.push({ t: "pipe" });
      i++;
    } else if (c === "(") {
      toks.push({ t: "lparen" });
      i++;
    } else if (c === ")") {
      toks.push({ t: "rparen" });
      i++;
      if (src[i] === ".") toks.push({ t: "rfields", v: fieldChain() });
    } else if (c === ",") {
      toks.push({ t: "comma" });
      i++;
    } else if (c === ":" && src[i + 1] === "=") {
      toks.push({ t: "declare" });
      i += 2;
    } else if (c === "=") {
      toks.push({ t: "assign" });
      i++;
    } else if (c === ".") {
      if (/[A-Za-z_]/.test(src[i + 1] ?? "")) toks.push({ t: "field", v: fieldChain() });
      else {
        toks.push({ t: "field", v: [] });
        i++;
      }
    } else if (c === "$") {
      i++;
      identRe.lastIndex = i;
      const m = identRe.exec(src);
      const name = m && m.index === i ? m[0] : "";
      i += name.length;
      toks.push({ t: "var", v: `$${name}`, fields: fieldChain() });
    } else if (c === '"') {
      let j = i + 1;
      while (j < src.length && src[j] !== '"') j += src[j] === "\\" ? 2 : 1;
      if (j >= src.length) throw tplError("unterminated quoted string");
      toks.push({ t: "string", v: JSON.parse(src.slice(i, j + 1).replace(/\\'/g, "'")) as string });
      i = j + 1;
    } else if (c === "`") {
      const j = src.indexOf("`", i + 1);
      if (j < 0) throw tplError("unterminated raw quoted string");
      toks.push({ t: "string", v: src.slice(i + 1, j) });
      i = j + 1;
    } else if (c === "'") {
      const m = /^'(\\.|[^'])'/.exec(src.slice(i));
      if (!m) throw tplError("malformed character constant");
      const ch = m[1]!.startsWith("\\") ? (JSON.parse(`"${m[1]}"`) as string) : m[1]!;
      toks.push({ t: "number", v: ch.codePointAt(0)! });
      i += m[0].length;
    } else if (/[-+\d]/.test(c)) {
      const m = /^[-+]?(0x[0-9a-fA-F]+|\d+(\.\d+)?([eE][-+]?\d+)?)/.exec(src.slice(i));
      if (!m) throw tplError(`bad number syntax: "${src.slice(i, i + 5)}"`);
      toks.push({ t: "number", v: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      identRe.lastIndex = i;
      const m = identRe.exec(src)!;
      i += m[0].length;
      if (m[0] === "true" || m[0] === "false") toks.push({ t: "bool", v: m[0] === "true" });
      else if (m[0] === "nil") toks.push({ t: "nil" });
      else toks.push({ t: "ident", v: m[0] });
    } else {
      throw tplError(`unexpected "${c}" in command`);
    }
  }
  return toks;
}

function lex(src: string): Piece[] {
  const pieces: Piece[] = [];
  let i = 0;
  let trimNext = false;
  while (i < src.length) {
    const open = src.indexOf("{{", i);
    let text = open < 0 ? src.slice(i) : src.slice(i, open);
    if (trimNext) text = text.replace(/^\s+/, "");
    trimNext = false;
    if (open < 0) {
      if (text) pieces.push({ kind: "text", text });
      break;
    }
    let start = open + 2;
    if (src.startsWith("- ", start) || src.startsWith("-\t", start) || src.startsWith("-\n", start)) {
      text = text.replace(/\s+$/, "");
      start += 2;
    }
    if (text) pieces.push({ kind: "text", text });
    const close = findClose(src, start);
    if (close < 0) throw tplError("unclosed action");
    let end = close;
    if (close - 2 >= start && /\s-$/.test(src.slice(close - 2, close))) {
      end = close - 2;
      trimNext = true;
    }
    const body = src.slice(start, end).trim();
    if (!(body.startsWith("/*") && body.endsWith("*/"))) {
      pieces.push({ kind: "action", toks: lexAction(body), src: body });
    }
    i = close + 2;
  }
  return pieces;
}

/** Finds the closing "}}" of an action, skipping quoted strings. */
function findClose(src: string, from: number): number {
  let i = from;
  while (i < src.length) {
    const c = src[i];
    if (c === '"') {
      i++;
      while (i < src.length && src[i] !== '"') i += src[i] === "\\" ? 2 : 1;
      i++;
    } else if (c === "`") {
      const j = src.indexOf("`", i + 1);
      if (j < 0) return -1;
      i = j + 1;
    } else if (c === "}" && src[i + 1] === "}") {
      return i;
    } else i++;
  }
  return -1;
}

// ---------- parser ----------

type Arg =
  | { k: "field"; chain: string[] }
  | { k: "var"; name: string; chain: string[] }
  | { k: "func"; name: string }
  | { k: "lit"; v: unknown }
  | { k: "sub"; pipe: Pipeline; chain: string[] };

interface Command {
  args: Arg[];
}
interface Pipeline {
  decl: string[];
  assign: boolean;
  cmds: Command[];
}

type Node =
  | { n: "text"; text: string }
  | { n: "action"; pipe: Pipeline }
  | { n: "if" | "with" | "range"; pipe: Pipeline; body: Node[]; else: Node[] };

class Parser {
  #pieces: Piece[];
  #pos = 0;
  constructor(pieces: Piece[]) {
    this.#pieces = pieces;
  }

  parseAll(): Node[] {
    const { nodes, end } = this.#list();
    if (end) throw tplError(`unexpected {{${end}}}`);
    return nodes;
  }

  /** Parses nodes until {{end}} or {{else…}}; returns which one stopped it. */
  #list(): { nodes: Node[]; end?: string; elseToks?: Tok[] } {
    const nodes: Node[] = [];
    while (this.#pos < this.#pieces.length) {
      const p = this.#pieces[this.#pos++]!;
      if (p.kind === "text") {
        nodes.push({ n: "text", text: p.text });
        continue;
      }
      const first = p.toks[0];
      const kw = first?.t === "ident" ? first.v : undefined;
      if (kw === "end") return { nodes, end: "end" };
      if (kw === "else") return { nodes, end: "else", elseToks: p.toks.slice(1) };
      if (kw === "if" || kw === "with" || kw === "range") {
        nodes.push(this.#control(kw, p.toks.slice(1)));
        continue;
      }
      if (kw === "define" || kw === "template" || kw === "block") {
        throw tplError(`{{${kw}}} is not supported`);
      }
      if (p.toks.length === 0) throw tplError("missing value for command");
      nodes.push({ n: "action", pipe: parsePipeline(p.toks) });
    }
    return { nodes };
  }

  #control(kind: "if" | "with" | "range", toks: Tok[]): Node {
    if (toks.length === 0) throw tplError(`missing value for ${kind}`);
    const pipe = parsePipeline(toks);
    const body = this.#list();
    if (!body.end) throw tplError(`unexpected EOF`);
    let elseNodes: Node[] = [];
    if (body.end === "else") {
      const et = body.elseToks!;
      const chained = et[0]?.t === "ident" && (et[0].v === "if" || et[0].v === "with") ? et[0].v : undefined;
      if (chained) {
        // {{else if …}} is an if nested in the else branch that shares our {{end}}.
        elseNodes = [this.#control(chained as "if" | "with", et.slice(1))];
      } else {
        const rest = this.#list();
        if (rest.end !== "end") throw tplError(`expected end; found ${rest.end ?? "EOF"}`);
        elseNodes = rest.nodes;
      }
    }
    return { n: kind, pipe, body: body.nodes, else: elseNodes };
  }
}

function parsePipeline(toks: Tok[]): Pipeline {
  let i = 0;
  const decl: string[] = [];
  let assign = false;
  // `$x :=` / `$i, $v :=` / `$x =`
  const save = i;
  while (toks[i]?.t === "var" && (toks[i] as { fields: string[] }).fields.length === 0) {
    decl.push((toks[i] as { v: string }).v);
    i++;
    if (toks[i]?.t === "comma") {
      i++;
      continue;
    }
    break;
  }
  if (decl.length > 0 && (toks[i]?.t === "declare" || toks[i]?.t === "assign")) {
    assign = toks[i]!.t === "assign";
    i++;
  } else {
    decl.length = 0;
    i = save;
  }
  const cmds: Command[] = [];
  let args: Arg[] = [];
  while (i < toks.length) {
    const t = toks[i]!;
    if (t.t === "pipe") {
      if (args.length === 0) throw tplError("missing command before |");
      cmds.push({ args });
      args = [];
      i++;
      continue;
    }
    if (t.t === "lparen") {
      let depth = 1;
      let j = i + 1;
      while (j < toks.length && depth > 0) {
        if (toks[j]!.t === "lparen") depth++;
        else if (toks[j]!.t === "rparen") depth--;
        if (depth > 0) j++;
      }
      if (depth !== 0) throw tplError("unclosed left paren");
      const sub = parsePipeline(toks.slice(i + 1, j));
      i = j + 1;
      let chain: string[] = [];
      if (toks[i]?.t === "rfields") {
        chain = (toks[i] as { v: string[] }).v;
        i++;
      }
      args.push({ k: "sub", pipe: sub, chain });
      continue;
    }
    if (t.t === "rparen") throw tplError("unexpected right paren");
    if (t.t === "field") args.push({ k: "field", chain: t.v });
    else if (t.t === "var") args.push({ k: "var", name: t.v, chain: t.fields });
    else if (t.t === "ident") args.push({ k: "func", name: t.v });
    else if (t.t === "string" || t.t === "number" || t.t === "bool") args.push({ k: "lit", v: t.v });
    else if (t.t === "nil") args.push({ k: "lit", v: null });
    else throw tplError(`unexpected token in command`);
    i++;
  }
  if (args.length === 0) throw tplError("missing command");
  cmds.push({ args });
  return { decl, assign, cmds };
}

// ---------- values ----------

/** Go's truth: false, 0, nil, "" and empty lists/maps are false. */
export function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return true;
}

/** Go's fmt %v of a decoded-JSON value. */
export function goString(v: unknown): string {
  if (v === undefined) return "<no value>";
  if (v === null) return "<nil>";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (Array.isArray(v)) return `[${v.map(inner).join(" ")}]`;
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (typeof (o as { toString?: unknown }).toString === "function" && o.toString !== Object.prototype.toString) {
      return String(o);
    }
    const keys = Object.keys(o).sort();
    return `map[${keys.map((k) => `${k}:${inner(o[k])}`).join(" ")}]`;
  }
  return String(v);
}

function inner(v: unknown): string {
  return v === undefined || v === null ? "<nil>" : goString(v);
}

/** Go's json.Marshal: like JSON.stringify but HTML-safe, as docker's `json` function. */
export function goJson(v: unknown): string {
  const s = JSON.stringify(v === undefined ? null : v);
  return s.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Go's fmt.Sprintf for the verbs templates use: %v %s %d %q %x %X %t %f %e %g %c %%. */
export function goSprintf(format: string, ...args: unknown[]): string {
  let argi = 0;
  return format.replace(/%([-+# 0]*)(\d+)?(?:\.(\d*))?([a-zA-Z%])/g, (_m, flags: string, w?: string, p?: string, verb?: string) => {
    if (verb === "%") return "%";
    if (argi >= args.length) return `%!${verb}(MISSING)`;
    const a = args[argi++];
    const prec = p === undefined ? undefined : Number(p || "0");
    let s: string;
    switch (verb) {
      case "s":
      case "v":
        s = goString(a);
        if (prec !== undefined) s = [...s].slice(0, prec).join("");
        break;
      case "q":
        s = JSON.stringify(goString(a));
        break;
      case "d":
        s = typeof a === "number" ? String(Math.trunc(a)) : `%!d(${typeof a}=${goString(a)})`;
        if (flags.includes("+") && typeof a === "number" && a >= 0) s = `+${s}`;
        break;
      case "x":
      case "X": {
        const raw =
          typeof a === "number" ? Math.trunc(a).toString(16) : Buffer.from(goString(a)).toString("hex");
        s = verb === "X" ? raw.toUpperCase() : raw;
        break;
      }
      case "t":
        s = typeof a === "boolean" ? String(a) : `%!t(${goString(a)})`;
        break;
      case "f":
      case "F":
        s = typeof a === "number" ? a.toFixed(prec ?? 6) : `%!f(${goString(a)})`;
        break;
      case "e":
        s = typeof a === "number" ? a.toExponential(prec ?? 6).replace(/e([-+])(\d)$/, "e$10$2") : goString(a);
        break;
      case "g":
        s = typeof a === "number" ? String(prec !== undefined ? Number(a.toPrecision(prec || 1)) : a) : goString(a);
        break;
      case "c":
        s = typeof a === "number" ? String.fromCodePoint(a) : goString(a);
        break;
      default:
        s = `%!${verb}(${goString(a)})`;
    }
    const width = w ? Number(w) : 0;
    const len = [...s].length;
    if (len < width) {
      const pad = (flags.includes("0") && !flags.includes("-") && /[dxXfFeg]/.test(verb!) ? "0" : " ").repeat(width - len);
      s = flags.includes("-") ? s + " ".repeat(width - len) : pad + s;
    }
    return s;
  });
}

function goPrint(args: unknown[]): string {
  let out = "";
  args.forEach((a, i) => {
    // Go's Sprint adds a space between operands when neither is a string.
    if (i > 0 && typeof a !== "string" && typeof args[i - 1] !== "string") out += " ";
    out += goString(a);
  });
  return out;
}

function compare(op: string, a: unknown, b: unknown): boolean {
  if (typeof a !== typeof b && !(a == null && b == null)) {
    throw new InvalidArgumentError(`template: error calling ${op}: incompatible types for comparison`);
  }
  const x = a as number | string;
  const y = b as number | string;
  switch (op) {
    case "lt":
      return x < y;
    case "le":
      return x <= y;
    case "gt":
      return x > y;
    default:
      return x >= y;
  }
}

function eq(a: unknown, ...rest: unknown[]): boolean {
  return rest.some((b) => (a === null || a === undefined ? b === null || b === undefined : a === b));
}

function indexOf(item: unknown, ...keys: unknown[]): unknown {
  let v = item;
  for (const k of keys) {
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v) || typeof v === "string") {
      const n = Number(k);
      if (!Number.isInteger(n) || n < 0 || n >= v.length) {
        throw new InvalidArgumentError(`template: error calling index: index out of range: ${goString(k)}`);
      }
      v = typeof v === "string" ? v.charCodeAt(n) : v[n];
    } else if (typeof v === "object") {
      // A missing key is Go's zero value for interface{}: printed as <no value>, like docker does on decoded JSON.
      v = Object.hasOwn(v, String(k)) ? (v as Record<string, unknown>)[String(k)] : undefined;
    } else {
      throw new InvalidArgumentError(`template: error calling index: can't index item of type ${typeof v}`);
    }
  }
  return v;
}

function title(s: string): string {
  return s.replace(/(^|[^\p{L}\p{N}_'])(\p{L})/gu, (_m, pre: string, ch: string) => pre + ch.toUpperCase());
}

/** docker's template functions on top of Go's builtins. */
export const defaultFuncs: Record<string, TemplateFunc> = {
  json: (v) => goJson(v),
  join: (list, sep) => (Array.isArray(list) ? list.map(goString).join(String(sep)) : goString(list)),
  split: (s, sep) => String(s).split(String(sep)),
  lower: (s) => goString(s).toLowerCase(),
  upper: (s) => goString(s).toUpperCase(),
  title: (s) => title(goString(s)),
  pad: (s, before, after) => " ".repeat(Number(before)) + goString(s) + " ".repeat(Number(after)),
  truncate: (s, n) => [...goString(s)].slice(0, Number(n)).join(""),
  len: (v) => {
    if (typeof v === "string") return Buffer.byteLength(v);
    if (Array.isArray(v)) return v.length;
    if (v && typeof v === "object") return Object.keys(v).length;
    throw new InvalidArgumentError(`template: error calling len: len of type ${v === null ? "nil" : typeof v}`);
  },
  index: (item, ...keys) => indexOf(item, ...keys),
  print: (...a) => goPrint(a),
  println: (...a) => `${a.map(goString).join(" ")}\n`,
  printf: (f, ...a) => goSprintf(String(f), ...a),
  eq: (a, ...b) => eq(a, ...b),
  ne: (a, b) => !eq(a, b),
  lt: (a, b) => compare("lt", a, b),
  le: (a, b) => compare("le", a, b),
  gt: (a, b) => compare("gt", a, b),
  ge: (a, b) => compare("ge", a, b),
  not: (v) => !truthy(v),
  and: (...a) => a.find((v) => !truthy(v)) ?? a[a.length - 1],
  or: (...a) => a.find((v) => truthy(v)) ?? a[a.length - 1],
  urlquery: (...a) => encodeURIComponent(goPrint(a)),
  html: (...a) =>
    goPrint(a).replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&#39;", '"': "&#34;" })[c]!),
};

// ---------- execution ----------

interface Scope {
  vars: Array<[string, unknown]>;
}

export class GoTemplate {
  #nodes: Node[];
  #funcs: Record<string, TemplateFunc>;

  private constructor(nodes: Node[], funcs: Record<string, TemplateFunc>) {
    this.#nodes = nodes;
    this.#funcs = funcs;
  }

  /** Parses a template; throws InvalidArgumentError with Go-like wording on bad syntax or unknown functions. */
  static parse(src: string, extraFuncs: Record<string, TemplateFunc> = {}): GoTemplate {
    const funcs = { ...defaultFuncs, ...extraFuncs };
    const nodes = new Parser(lex(src)).parseAll();
    checkFuncs(nodes, funcs);
    return new GoTemplate(nodes, funcs);
  }

  /** Renders the template against `data` (the root `.` and `$`). */
  execute(data: unknown): string {
    const out: string[] = [];
    this.#run(this.#nodes, data, { vars: [["$", data]] }, out);
    return out.join("");
  }

  #run(nodes: Node[], dot: unknown, scope: Scope, out: string[]): void {
    for (const node of nodes) {
      switch (node.n) {
        case "text":
          out.push(node.text);
          break;
        case "action": {
          const v = this.#pipe(node.pipe, dot, scope);
          if (node.pipe.decl.length === 0) out.push(goString(v));
          break;
        }
        case "if": {
          const mark = scope.vars.length;
          const v = this.#pipe(node.pipe, dot, scope);
          this.#run(truthy(v) ? node.body : node.else, dot, scope, out);
          scope.vars.length = mark;
          break;
        }
        case "with": {
          const mark = scope.vars.length;
          const v = this.#pipe(node.pipe, dot, scope);
          if (truthy(v)) this.#run(node.body, v, scope, out);
          else this.#run(node.else, dot, scope, out);
          scope.vars.length = mark;
          break;
        }
        case "range": {
          const mark = scope.vars.length;
          const decl = node.pipe.decl;
          const v = this.#pipe({ ...node.pipe, decl: [] }, dot, scope);
          let entries: Array<[unknown, unknown]> = [];
          if (Array.isArray(v)) entries = v.map((x, i) => [i, x]);
          else if (v && typeof v === "object") {
            entries = Object.keys(v)
              .sort()
              .map((k) => [k, (v as Record<string, unknown>)[k]]);
          } else if (typeof v === "number") entries = Array.from({ length: v }, (_x, i) => [i, i]);
          else if (v !== undefined && v !== null) {
            throw new InvalidArgumentError(`template: range can't iterate over ${goString(v)}`);
          }
          if (entries.length === 0) this.#run(node.else, dot, scope, out);
          for (const [k, x] of entries) {
            const inner = scope.vars.length;
            if (decl.length === 1) scope.vars.push([decl[0]!, x]);
            else if (decl.length === 2) scope.vars.push([decl[0]!, k], [decl[1]!, x]);
            this.#run(node.body, x, scope, out);
            scope.vars.length = inner;
          }
          scope.vars.length = mark;
          break;
        }
      }
    }
  }

  #pipe(p: Pipeline, dot: unknown, scope: Scope): unknown {
    let value: unknown;
    let hasPiped = false;
    for (const cmd of p.cmds) {
      value = this.#command(cmd, dot, scope, hasPiped ? [value] : []);
      hasPiped = true;
    }
    if (p.decl.length > 0) {
      if (p.assign) {
        const slot = [...scope.vars].reverse().find(([n]) => n === p.decl[0]);
        if (!slot) throw new InvalidArgumentError(`template: undefined variable: ${p.decl[0]}`);
        slot[1] = value;
      } else scope.vars.push([p.decl[0]!, value]);
    }
    return value;
  }

  #command(cmd: Command, dot: unknown, scope: Scope, piped: unknown[]): unknown {
    const [head, ...rest] = cmd.args;
    if (head!.k === "func") {
      const fn = this.#funcs[head!.name]!;
      const args = [...rest.map((a) => this.#arg(a, dot, scope)), ...piped];
      return fn(...args);
    }
    if (rest.length === 0 && piped.length === 0) return this.#arg(head!, dot, scope);
    // `.Method arg…` — a field that is a function (formatter contexts) is called with the args.
    const callArgs = [...rest.map((a) => this.#arg(a, dot, scope)), ...piped];
    return this.#arg(head!, dot, scope, callArgs);
  }

  #arg(a: Arg, dot: unknown, scope: Scope, callArgs?: unknown[]): unknown {
    switch (a.k) {
      case "lit":
        return a.v;
      case "func": {
        return this.#funcs[a.name]!();
      }
      case "field":
        return chain(dot, a.chain, callArgs);
      case "var": {
        const slot = [...scope.vars].reverse().find(([n]) => n === a.name);
        if (!slot) throw new InvalidArgumentError(`template: undefined variable "${a.name}"`);
        return chain(slot[1], a.chain, callArgs);
      }
      case "sub":
        return chain(this.#pipe(a.pipe, dot, scope), a.chain, callArgs);
    }
  }
}

function chain(base: unknown, names: string[], callArgs?: unknown[]): unknown {
  let v = base;
  names.forEach((name, i) => {
    if (v === undefined || v === null) {
      v = undefined;
      return;
    }
    if (typeof v !== "object") {
      throw new InvalidArgumentError(`template: can't evaluate field ${name} in type ${typeof v}`);
    }
    const holder = v as Record<string, unknown>;
    const next = name in holder ? holder[name] : undefined;
    if (typeof next === "function") {
      const last = i === names.length - 1;
      v = (next as TemplateFunc).apply(holder, last && callArgs ? callArgs : []);
    } else v = next;
  });
  if (callArgs && callArgs.length > 0 && typeof base !== "function" && names.length === 0) {
    throw new InvalidArgumentError(`template: can't give argument to non-function`);
  }
  return v;
}

function checkFuncs(nodes: Node[], funcs: Record<string, TemplateFunc>): void {
  const checkPipe = (p: Pipeline) => {
    for (const c of p.cmds) {
      for (const a of c.args) {
        if (a.k === "func" && !(a.name in funcs)) throw tplError(`function "${a.name}" not defined`);
        if (a.k === "sub") checkPipe(a.pipe);
      }
    }
  };
  for (const n of nodes) {
    if (n.n === "text") continue;
    checkPipe(n.pipe);
    if (n.n !== "action") {
      checkFuncs(n.body, funcs);
      checkFuncs(n.else, funcs);
    }
  }
}

/** Parses and runs once: the common case for `-f`. */
export function renderTemplate(src: string, data: unknown): string {
  return GoTemplate.parse(src).execute(data);
}
