/**
 * End-to-end CLI cases as data: each runs against a real daemon with our
 * `wharf` CLI and with the real `docker` CLI, and must behave the same.
 * `$P` in arguments is replaced by a per-run unique prefix for names.
 */
export interface CliCase {
  name: string;
  setup?: string[][];
  args: string[];
  input?: string;
  code: number;
  stdout?: RegExp | string;
  stderr?: RegExp;
  cleanup?: string[][];
}

export const cliCases: CliCase[] = [
  { name: "hello world", args: ["run", "--rm", "busybox", "echo", "Hello World"], code: 0, stdout: "Hello World\n" },
  { name: "exit code is the container's", args: ["run", "--rm", "busybox", "sh", "-c", "exit 7"], code: 7 },
  { name: "piped stdin without a tty", args: ["run", "--rm", "-i", "busybox", "cat"], input: "from stdin\n", code: 0, stdout: "from stdin\n" },
  { name: "env and workdir", args: ["run", "--rm", "-e", "FOO=bar", "-w", "/tmp", "busybox", "sh", "-c", "echo $FOO $(pwd)"], code: 0, stdout: "bar /tmp\n" },
  { name: "user by name", args: ["run", "--rm", "-u", "nobody", "busybox", "id", "-un"], code: 0, stdout: "nobody\n" },
  { name: "hostname flag", args: ["run", "--rm", "--hostname", "box1", "busybox", "hostname"], code: 0, stdout: "box1\n" },
  { name: "pid namespace: the command is pid 1", args: ["run", "--rm", "busybox", "sh", "-c", "echo $$"], code: 0, stdout: "1\n" },
  { name: "entrypoint override", args: ["run", "--rm", "--entrypoint", "echo", "busybox", "a", "b"], code: 0, stdout: "a b\n" },
  { name: "stderr is kept apart", args: ["run", "--rm", "busybox", "sh", "-c", "echo err >&2"], code: 0, stdout: "", stderr: /err/ },
  { name: "command not found is 127", args: ["run", "--rm", "busybox", "nosuchcommand"], code: 127, stderr: /executable file not found|no such file/ },
  { name: "cannot invoke a directory is 126", args: ["run", "--rm", "busybox", "/etc"], code: 126 },
  { name: "unknown image", args: ["run", "--rm", "nosuchimage-$P"], code: 125, stderr: /Unable to find image 'nosuchimage-[^']+:latest' locally/ },
  { name: "bad restart policy", args: ["run", "--restart", "sometimes", "busybox", "true"], code: 125, stderr: /restart policy/ },
  { name: "--net=none: loopback only", args: ["run", "--rm", "--net=none", "busybox", "sh", "-c", "ls /sys/class/net"], code: 0, stdout: "lo\n" },
  { name: "default bridge: eth0 and a default route", args: ["run", "--rm", "busybox", "sh", "-c", "ls /sys/class/net; ip route | grep -c ^default"], code: 0, stdout: "eth0\nlo\n1\n" },
  {
    name: "name conflict is refused",
    setup: [["create", "--name", "$P-dup", "busybox", "true"]],
    args: ["create", "--name", "$P-dup", "busybox", "true"],
    code: 1,
    stderr: /is already in use/,
    cleanup: [["rm", "-f", "$P-dup"]],
  },
  {
    name: "removing a running container needs -f",
    setup: [["run", "-d", "--name", "$P-run", "busybox", "sleep", "60"]],
    args: ["rm", "$P-run"],
    code: 1,
    stderr: /stop the container before removing or force remove/,
    cleanup: [["rm", "-f", "$P-run"]],
  },
  {
    name: "exec in a stopped container is refused",
    setup: [["create", "--name", "$P-stopped", "busybox", "true"]],
    args: ["exec", "$P-stopped", "true"],
    code: 1,
    stderr: /is not running/,
    cleanup: [["rm", "-f", "$P-stopped"]],
  },
  {
    name: "exec runs in a running container with its exit code",
    setup: [["run", "-d", "--name", "$P-exec", "busybox", "sleep", "60"]],
    args: ["exec", "$P-exec", "sh", "-c", "echo inside; exit 3"],
    code: 3,
    stdout: "inside\n",
    cleanup: [["rm", "-f", "$P-exec"]],
  },
  {
    name: "logs of a finished container",
    setup: [["run", "--name", "$P-logs", "busybox", "sh", "-c", "echo one; echo two"]],
    args: ["logs", "--tail", "1", "$P-logs"],
    code: 0,
    stdout: "two\n",
    cleanup: [["rm", "-f", "$P-logs"]],
  },
  {
    name: "inspect -f with a template",
    setup: [["create", "--name", "$P-insp", "-l", "team=wharf", "busybox", "true"]],
    args: ["inspect", "-f", "{{.Name}} {{.State.Status}} {{index .Config.Labels \"team\"}}", "$P-insp"],
    code: 0,
    stdout: /^\/[^ ]+-insp created wharf\n$/,
    cleanup: [["rm", "-f", "$P-insp"]],
  },
  { name: "no such container", args: ["stop", "nosuch-$P"], code: 1, stderr: /No such container: nosuch-/ },
];
