/**
 * `wharf login [-u USER] [-p PASS | --password-stdin] [SERVER]`: the daemon
 * checks the credentials against the registry (`POST /auth`), then they are
 * stored in the docker CLI's config.json, where `docker` finds them too.
 */
import { createInterface } from "node:readline";
import { CredentialsFile, dockerConfigPath, dockerHubAuthKey } from "../../distribution/credentials.js";
import { InvalidArgumentError } from "../../lib/errors.js";
import { newCommand, parseArgs, println, requireArgs, type CliIo } from "../command-kit.js";

export interface LoginOptions {
  server: string;
  username?: string;
  password?: string;
  passwordStdin: boolean;
}

export function parseLogin(argv: string[], io: Pick<CliIo, "stdout">): LoginOptions {
  const cmd = newCommand("login", "[OPTIONS] [SERVER]", "Log in to a registry.\nIf no server is specified, the default is defined by the daemon.", io.stdout)
    .option("-u, --username <string>", "Username")
    .option("-p, --password <string>", "Password or Personal Access Token (PAT)")
    .option("--password-stdin", "Take the Password or Personal Access Token (PAT) from stdin");
  const { options: o, args } = parseArgs(cmd, "login", argv);
  requireArgs("login", args, { max: 1 });
  return {
    server: args[0] ?? dockerHubAuthKey,
    ...(o.username !== undefined ? { username: String(o.username) } : {}),
    ...(o.password !== undefined ? { password: String(o.password) } : {}),
    passwordStdin: !!o.passwordStdin,
  };
}

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const opts = parseLogin(argv, io);
  if (opts.password !== undefined && opts.passwordStdin) throw new InvalidArgumentError("--password and --password-stdin are mutually exclusive");
  if (opts.passwordStdin && opts.username === undefined) throw new InvalidArgumentError("Must provide --username with --password-stdin");
  const file = await CredentialsFile.load(dockerConfigPath(io.env));
  let { username, password } = opts;
  if (opts.password !== undefined) println(io.stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
  if (opts.passwordStdin) password = (await readAllText(io.stdin)).replace(/\r?\n$/, "");
  if (username === undefined || password === undefined) {
    const stored = await file.lookup(opts.server);
    if (username === undefined && password === undefined && stored) {
      ({ username, password } = stored);
    } else {
      if (!io.terminal.stdinIsTty) throw new InvalidArgumentError("Cannot perform an interactive login from a non TTY device");
      const lines = createInterface({ input: io.stdin, output: io.stdout, terminal: false });
      const ask = (q: string) => new Promise<string>((resolve) => lines.question(q, resolve));
      try {
        username ??= (await ask("Username: ")).trim();
        password ??= await ask("Password: ");
      } finally {
        lines.close();
      }
    }
  }
  if (!username) throw new InvalidArgumentError("Username is required");
  if (!password) throw new InvalidArgumentError("Error: Password Required");
  const res = await io.client.json<{ Status?: string; IdentityToken?: string }>("POST", "/auth", {
    body: { username, password, serveraddress: opts.server },
  });
  await file.store(opts.server, { username, password, ...(res?.IdentityToken ? { identityToken: res.IdentityToken } : {}) });
  await file.save();
  if (!file.helperFor(opts.server)) println(io.stderr, `WARNING! Your credentials are stored unencrypted in '${file.path}'.`);
  println(io.stdout, res?.Status ?? "Login Succeeded");
  return 0;
}

async function readAllText(stream: NodeJS.ReadableStream): Promise<string> {
  let s = "";
  for await (const c of stream) s += typeof c === "string" ? c : (c as Buffer).toString("utf8");
  return s;
}

