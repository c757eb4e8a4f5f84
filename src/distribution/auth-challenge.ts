/**
 * `WWW-Authenticate` challenges as registries send them with a 401
 * (RFC 9110 §11.6.1, https://www.rfc-editor.org/rfc/rfc9110#name-www-authenticate):
 *
 *   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"
 *   Basic realm="Registry Realm"
 *
 * One header may carry several challenges (`Basic realm="a", Bearer realm="b"`),
 * and a response may carry several headers. Parameter values are tokens or
 * quoted strings with `\` escapes; names are case-insensitive (kept lowercase).
 */
export interface Challenge {
  /** The scheme, lowercase: `bearer`, `basic`, … */
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

const tchar = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/** Every challenge of one or more `WWW-Authenticate` values; malformed parts are skipped, never thrown. */
export function parseChallenges(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = typeof header === "string" ? [header] : header;
  return values.flatMap(parseOne);
}

function parseOne(s: string): Challenge[] {
  const out: Array<{ scheme: string; params: Record<string, string> }> = [];
  let i = 0;
  const skipSpace = () => {
    while (i < s.length && (s[i] === " " || s[i] === "\t")) i++;
  };
  const token = (): string => {
    const start = i;
    while (i < s.length && tchar.test(s[i]!)) i++;
    return s.slice(start, i);
  };
  const quoted = (): string => {
    let v = "";
    i++; // opening quote
    while (i < s.length && s[i] !== '"') {
      if (s[i] === "\\" && i + 1 < s.length) i++;
      v += s[i++];
    }
    i++; // closing quote
    return v;
  };
  while (i < s.length) {
    skipSpace();
    if (s[i] === ",") {
      i++;
      continue;
    }
    const word = token();
    if (word === "") {
      i++; // garbage: step over it
      continue;
    }
    skipSpace();
    if (s[i] === "=" && out.length > 0) {
      // A parameter of the current challenge.
      i++;
      skipSpace();
      const value = s[i] === '"' ? quoted() : token();
      out[out.length - 1]!.params[word.toLowerCase()] = value;
    } else {
      // A new challenge (its first parameter, or a token68, follows after a space).
      out.push({ scheme: word.toLowerCase(), params: {} });
      skipSpace();
      const save = i;
      const t68 = /^[A-Za-z0-9\-._~+/]+=*/.exec(s.slice(i));
      if (t68 && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+\s*=[^=]/.test(s.slice(i)) && (s[i + t68[0].length] === undefined || s[i + t68[0].length] === ",")) {
        // token68 form (`Negotiate abc==`): kept under "token68".
        out[out.length - 1]!.params.token68 = t68[0];
        i += t68[0].length;
      } else {
        i = save;
      }
    }
  }
  return out;
}

/** The first challenge of `scheme` (lowercase), if any. */
export function findChallenge(challenges: readonly Challenge[], scheme: string): Challenge | undefined {
  return challenges.find((c) => c.scheme === scheme);
}
