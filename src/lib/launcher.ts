/**
 * Starts the daemon's short helper programs (`mount`, `umount`, `ip`,
 * `unshare`, `iptables-restore`, `sync`, …) from a few resident `/bin/sh`
 * processes instead of from Node itself.
 *
 * Why: libuv starts a child with fork(), and forking the ~100 MB daemon copies
 * its page tables, blocks the event loop until the child has exec()'d, and
 * leaves every anonymous page write-protected, so the daemon then takes a
 * copy-on-write fault on each page it writes next. Measured here: about
 * 2.7 ms of host CPU per program started from a daemon-sized Node process
 * against 0.75 ms through a resident shell (bench numbers in the commit
 * message); a container's life starts six such programs.
 *
 * Contract: `launch(cmd, args, opts)` runs `cmd` with `args` as an argv (each
 * one single-quoted for the shell, never interpreted), stdin from
 * `opts.input` (or /dev/null), and resolves `{ code, stdout, stderr }` once it
 * has exited, whatever its exit code; it rejects with `UnavailableError` when
 * `cmd` cannot be found or the shell died mid-run. Lifecycle of a shell: spawned
 * on demand (at most `maxShells`), runs one program at a time, held by the
 * event loop only while it runs one, and exits on its own when the daemon
 * goes away (its stdin closes). Input that a here-document cannot carry
 * exactly (not ending in a newline, or holding NUL) and a launcher whose
 * shell cannot start fall back to a direct spawn, so callers never see a difference.
 *
 * Framing: after each program the shell writes `\n<marker> <status>\n` to its
 * stdout and `\n<marker>\n` to its stderr; the marker is 96 random bits per
 * run, so a program's own output cannot end a run early.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { UnavailableError } from "./errors.js";

export interface LaunchOptions {
  /** Sent on the program's stdin; none means /dev/null. */
  input?: string;
  cwd?: string;
  /** Extra environment for this program only. */
  env?: Record<string, string>;
}

export interface LaunchResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Enough for the daemon's concurrent container starts; more wait for a free shell. */
const maxShells = 8;

/** Quotes one argv word for sh: inside single quotes nothing is special but the quote itself. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/**
 * Collects one stream of a shell until its marker line `\n<marker>[ status]\n`
 * arrives. The shell writes nothing after it until it is given the next
 * program, so the marker is always at the end of what has arrived: only the
 * last few bytes are searched, whatever the program printed.
 */
class MarkedStream {
  readonly #chunks: Buffer[] = [];
  #size = 0;
  readonly #marker: Buffer;
  /** The last bytes received, enough to hold a whole marker line. */
  #window = Buffer.alloc(0);
  #result: { body: string; tail: string } | undefined;

  constructor(marker: string) {
    this.#marker = Buffer.from(`\n${marker}`);
  }

  get done(): boolean {
    return this.#result !== undefined;
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    const keep = this.#marker.length + 16;
    this.#window = Buffer.concat([this.#window, chunk.length > keep ? chunk.subarray(chunk.length - keep) : chunk]);
    if (this.#window.length > keep) this.#window = this.#window.subarray(this.#window.length - keep);
    if (this.#window.at(-1) !== 0x0a) return;
    const at = this.#window.lastIndexOf(this.#marker);
    if (at < 0) return;
    const tail = this.#window.toString("latin1", at + this.#marker.length, this.#window.length - 1);
    if (tail !== "" && !/^ \w+$/.test(tail)) return;
    const markerLine = this.#window.length - at;
    this.#result = { body: Buffer.concat(this.#chunks, this.#size).toString("utf8", 0, this.#size - markerLine), tail: tail.trim() };
  }

  /** The output before the marker, and what the marker line carried after the marker. */
  result(): { body: string; tail: string } {
    return this.#result!;
  }
}

interface Run {
  out: MarkedStream;
  err: MarkedStream;
  resolve(r: LaunchResult): void;
  reject(e: Error): void;
  /** Runs the program by a direct spawn instead: for a shell that never started. */
  fallback(): Promise<LaunchResult>;
  cmd: string;
}

interface ShellEvents {
  idle(shell: LauncherShell): void;
  /** `neverStarted`: /bin/sh could not be spawned at all. */
  death(shell: LauncherShell, neverStarted: boolean): void;
}

/** One resident shell: runs one program at a time. */
class LauncherShell {
  readonly #child: ChildProcess;
  readonly #events: ShellEvents;
  #run: Run | undefined;
  #dead = false;

  constructor(events: ShellEvents) {
    this.#events = events;
    this.#child = spawn("/bin/sh", ["-s"], { stdio: ["pipe", "pipe", "pipe"] });
    this.#child.on("error", (e) => this.#die(`failed: ${e.message}`, (e as NodeJS.ErrnoException).code === "ENOENT"));
    this.#child.on("exit", (code, signal) => this.#die(`exited (${signal ?? code})`, false));
    this.#child.stdin!.on("error", () => this.#die("closed its input", false));
    this.#child.stdout!.on("data", (b: Buffer) => this.#feed(true, b));
    this.#child.stderr!.on("data", (b: Buffer) => this.#feed(false, b));
    this.#hold(false);
  }

  get idle(): boolean {
    return this.#run === undefined && !this.#dead;
  }

  /** Starts a program; the shell is busy from this call on (synchronously). */
  start(cmd: string, args: readonly string[], opts: LaunchOptions, marker: string): Promise<LaunchResult> {
    return new Promise((resolve, reject) => {
      const fallback = () => spawnDirect(cmd, args, opts);
      this.#run = { out: new MarkedStream(marker), err: new MarkedStream(marker), resolve, reject, fallback, cmd };
      this.#hold(true);
      this.#child.stdin!.write(script(cmd, args, opts, marker));
    });
  }

  /** Closes the shell's input: it exits once its current program (if any) is done. */
  end(): void {
    this.#child.stdin!.end();
  }

  /** Whether the daemon's event loop waits for this shell: only while it runs a program. */
  #hold(on: boolean): void {
    for (const h of [this.#child, this.#child.stdin, this.#child.stdout, this.#child.stderr] as Array<{ ref?(): void; unref?(): void } | null>) {
      if (on) h?.ref?.();
      else h?.unref?.();
    }
  }

  #die(why: string, neverStarted: boolean): void {
    if (this.#dead) return;
    this.#dead = true;
    const run = this.#run;
    this.#run = undefined;
    this.#events.death(this, neverStarted);
    if (!run) return;
    if (neverStarted) run.fallback().then(run.resolve, run.reject);
    else run.reject(new UnavailableError(`cannot run ${run.cmd}: the launcher shell ${why}`));
  }

  #feed(stdout: boolean, chunk: Buffer): void {
    const run = this.#run;
    if (!run) return;
    (stdout ? run.out : run.err).push(chunk);
    if (!run.out.done || !run.err.done) return;
    this.#run = undefined;
    this.#hold(false);
    const out = run.out.result();
    if (out.tail === "enoent") run.reject(new UnavailableError(`cannot run ${run.cmd}: not found`));
    else run.resolve({ code: Number(out.tail), stdout: out.body, stderr: run.err.result().body });
    this.#events.idle(this);
  }
}

/**
 * The shell text for one program. The program runs in a subshell, so its cwd
 * and environment do not leak into the next one; `command -v` (a builtin, no
 * fork) tells a missing program from one that failed.
 */
function script(cmd: string, args: readonly string[], opts: LaunchOptions, marker: string): string {
  let inner = "";
  if (opts.cwd !== undefined) inner += `cd -- ${shellQuote(opts.cwd)} && `;
  for (const [k, v] of Object.entries(opts.env ?? {})) inner += `export ${k}=${shellQuote(v)} && `;
  inner += `exec ${[cmd, ...args].map(shellQuote).join(" ")}`;
  const stdin = opts.input === undefined ? " </dev/null" : ` <<'${marker}'\n${opts.input}${marker}`;
  return (
    `if command -v ${shellQuote(cmd)} >/dev/null 2>&1; then ( ${inner} )${stdin}\n` +
    `s=$?; else s=enoent; fi; printf '\\n%s\\n' '${marker}' >&2; printf '\\n%s %s\\n' '${marker}' "$s"\n`
  );
}

/** Whether the shell can run this exactly as a direct spawn would. */
function shellCarries(opts: LaunchOptions, marker: string): boolean {
  if (Object.keys(opts.env ?? {}).some((k) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))) return false;
  const input = opts.input;
  // A here-document always ends in a newline and cannot hold NUL or its own delimiter line.
  return input === undefined || (input.endsWith("\n") && !input.includes("\0") && !`\n${input}`.includes(`\n${marker}\n`));
}

export class Launcher {
  readonly #shells = new Set<LauncherShell>();
  readonly #waiting: Array<() => void> = [];
  /** No /bin/sh could be started: every program is spawned directly. */
  #direct = false;

  /** Runs `cmd args` to completion; see the module comment for the contract. */
  launch(cmd: string, args: readonly string[], opts: LaunchOptions = {}): Promise<LaunchResult> {
    const marker = `WHARF_${randomBytes(12).toString("hex")}`;
    if (this.#direct || !shellCarries(opts, marker)) return spawnDirect(cmd, args, opts);
    const shell = this.#take();
    if (shell) return shell.start(cmd, args, opts, marker);
    return new Promise<void>((resolve) => this.#waiting.push(resolve)).then(() => this.launch(cmd, args, opts));
  }

  /** Ends every shell (each exits once its current program is done). */
  close(): void {
    for (const s of this.#shells) s.end();
    this.#shells.clear();
  }

  #take(): LauncherShell | undefined {
    for (const s of this.#shells) if (s.idle) return s;
    if (this.#shells.size >= maxShells) return undefined;
    const shell = new LauncherShell({
      idle: () => this.#waiting.shift()?.(),
      death: (dead, neverStarted) => {
        this.#shells.delete(dead);
        if (neverStarted) this.#direct = true;
        this.#waiting.shift()?.();
      },
    });
    this.#shells.add(shell);
    return shell;
  }
}

/** The plain way: fork the daemon. Used when the shell cannot carry a run exactly. */
function spawnDirect(cmd: string, args: readonly string[], opts: LaunchOptions): Promise<LaunchResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
      cwd: opts.cwd,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on("data", (b: Buffer) => out.push(b));
    child.stderr!.on("data", (b: Buffer) => err.push(b));
    child.on("error", (e) => reject(new UnavailableError(`cannot run ${cmd}: ${e.message}`, { cause: e })));
    child.on("close", (code, signal) =>
      resolve({ code: code ?? (signal ? -1 : 0), stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") }),
    );
    if (opts.input !== undefined) {
      // EPIPE when the program exits early is reported through its exit code.
      child.stdin!.on("error", () => {});
      child.stdin!.end(opts.input);
    }
  });
}

/** The process-wide launcher the helper-running modules share. */
export const launcher = new Launcher();
