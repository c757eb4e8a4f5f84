import assert from "node:assert/strict";
import { test } from "node:test";
import { GoTemplate, goSprintf, goString, renderTemplate } from "./go-template.js";

const container = {
  Id: "74e2dfcfb7351afcd4009587e8e1ba6d7c08318dcbd78181f7b89aca31aa5bf1",
  Name: "/web",
  State: { Status: "running", Running: true, Pid: 1925, ExitCode: 0 },
  Config: {
    Cmd: ["sleep", "1000"],
    Labels: { a: "b", "com.example.x": "y" },
    Env: ["A=1", "B=2"],
  },
  Mounts: [
    { Source: "/src", Destination: "/dst", RW: true },
    { Source: "/ro", Destination: "/ro", RW: false },
  ],
  HostConfig: { RestartPolicy: { Name: "no", MaximumRetryCount: 0 }, Binds: null },
};

test("fields, nested fields and missing keys", () => {
  assert.equal(renderTemplate("{{.Name}}", container), "/web");
  assert.equal(renderTemplate("{{.State.Status}} {{.State.Pid}}", container), "running 1925");
  assert.equal(renderTemplate("{{.Nope}}", container), "<no value>");
  assert.equal(renderTemplate("{{.HostConfig.Binds}}", container), "<nil>");
  assert.equal(renderTemplate("{{.Config.Labels}}", container), "map[a:b com.example.x:y]");
  assert.equal(renderTemplate("{{.Config.Cmd}}", container), "[sleep 1000]");
  assert.equal(renderTemplate("{{.}}", "plain"), "plain");
});

test("json, index, len, join, lower, upper, title, split, println", () => {
  assert.equal(renderTemplate("{{json .Config.Cmd}}", container), '["sleep","1000"]');
  assert.equal(renderTemplate("{{json .HostConfig.RestartPolicy}}", container), '{"Name":"no","MaximumRetryCount":0}');
  assert.equal(renderTemplate("{{json .}}", { s: "<a&b>" }), '{"s":"\\u003ca\\u0026b\\u003e"}');
  assert.equal(renderTemplate('{{index .Config.Labels "com.example.x"}}', container), "y");
  assert.equal(renderTemplate("{{index .Config.Cmd 1}}", container), "1000");
  assert.equal(renderTemplate("{{len .Config.Cmd}} {{len .Name}}", container), "2 4");
  assert.equal(renderTemplate('{{join .Config.Cmd " "}}', container), "sleep 1000");
  assert.equal(renderTemplate("{{lower .State.Status}}{{upper .State.Status}}", container), "runningRUNNING");
  assert.equal(renderTemplate('{{title "hello world"}}', {}), "Hello World");
  assert.equal(renderTemplate('{{split "a,b" ","}}', {}), "[a b]");
  assert.equal(renderTemplate('{{println "x"}}', {}), "x\n");
  assert.equal(renderTemplate('{{pad "x" 1 2}}|', {}), " x  |");
  assert.equal(renderTemplate('{{truncate "abcdef" 3}}', {}), "abc");
});

test("pipes and printf", () => {
  assert.equal(renderTemplate('{{.Id | printf "%.12s"}}', container), "74e2dfcfb735");
  assert.equal(renderTemplate('{{printf "%s=%d" .Name .State.Pid}}', container), "/web=1925");
  assert.equal(renderTemplate('{{.State.Status | upper | printf "[%s]"}}', container), "[RUNNING]");
  assert.equal(renderTemplate('{{printf "%q" .Name}}', container), '"/web"');
  assert.equal(goSprintf("%-6s|%5d|%05d|%x|%t|%v|%%", "ab", 42, 7, 255, true, [1, 2]), "ab    |   42|00007|ff|true|[1 2]|%");
  assert.equal(goSprintf("%s %s", "one"), "one %!s(MISSING)");
});

test("if / else if / else, with, comparison and logic", () => {
  assert.equal(renderTemplate("{{if .State.Running}}up{{else}}down{{end}}", container), "up");
  assert.equal(renderTemplate('{{if eq .State.Status "exited"}}x{{else if eq .State.Status "running"}}r{{else}}?{{end}}', container), "r");
  assert.equal(renderTemplate("{{if not .State.Running}}down{{end}}", container), "");
  assert.equal(renderTemplate("{{if and .State.Running (gt .State.Pid 1)}}ok{{end}}", container), "ok");
  assert.equal(renderTemplate("{{if or .HostConfig.Binds .Mounts}}some{{end}}", container), "some");
  assert.equal(renderTemplate("{{with .State}}{{.Status}}{{end}}", container), "running");
  assert.equal(renderTemplate("{{with .Nope}}x{{else}}none{{end}}", container), "none");
  assert.equal(renderTemplate('{{if ne .Name "/x"}}ne{{end}}', container), "ne");
  assert.equal(renderTemplate('{{if eq .Name "/a" "/web"}}multi{{end}}', container), "multi");
});

test("range over lists and maps, with variables and else", () => {
  assert.equal(renderTemplate("{{range .Mounts}}{{.Source}}:{{.Destination}} {{end}}", container), "/src:/dst /ro:/ro ");
  assert.equal(renderTemplate("{{range $i, $m := .Mounts}}{{$i}}={{$m.RW}};{{end}}", container), "0=true;1=false;");
  assert.equal(renderTemplate("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}},{{end}}", container), "a=b,com.example.x=y,");
  assert.equal(renderTemplate("{{range .HostConfig.Binds}}x{{else}}empty{{end}}", container), "empty");
  assert.equal(renderTemplate("{{range .Config.Env}}[{{.}}]{{end}}", container), "[A=1][B=2]");
  assert.equal(renderTemplate("{{$n := .Name}}{{range .Mounts}}{{$n}}{{end}}", container), "/web/web");
  assert.equal(renderTemplate("{{range .Mounts}}{{$.Name}}{{end}}", container), "/web/web");
});

test("trim markers and comments", () => {
  assert.equal(renderTemplate("a  {{- .Name -}}  b", container), "a/webb");
  assert.equal(renderTemplate("{{/* a comment */}}x", container), "x");
  assert.equal(renderTemplate("{{range .Mounts -}}\n  {{.Source}}\n{{- end}}", container), "/src/ro");
});

test("methods with arguments on context objects", () => {
  const row = {
    Label(name: unknown) {
      return name === "a" ? "b" : "";
    },
    Names() {
      return "web";
    },
  };
  assert.equal(renderTemplate('{{.Names}} {{.Label "a"}}', row), "web b");
});

test("parse errors name the problem", () => {
  assert.throws(() => GoTemplate.parse("{{.Name"), /unclosed action/);
  assert.throws(() => GoTemplate.parse("{{nosuchfunc .Name}}"), /function "nosuchfunc" not defined/);
  assert.throws(() => GoTemplate.parse("{{if .A}}x"), /unexpected EOF/);
  assert.throws(() => GoTemplate.parse("{{end}}"), /unexpected/);
});

test("goString mirrors fmt %v for decoded JSON", () => {
  assert.equal(goString({ b: 1, a: [true, null] }), "map[a:[true <nil>] b:1]");
  assert.equal(goString(undefined), "<no value>");
  assert.equal(goString(3.5), "3.5");
});
