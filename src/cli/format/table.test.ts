import assert from "node:assert/strict";
import { test } from "node:test";
import { ContainerContext, containerHeaders, displayablePorts, type ApiContainer } from "./container-context.js";
import { imageHeaders, imageRows, splitRepoTag } from "./image-context.js";
import { renderRows, tabwrite, templateOf } from "./table.js";

test("tabwrite aligns like Go's tabwriter with docker's settings", () => {
  assert.equal(tabwrite("A\tBB\tC\nlonger-cell\tx\ty\n"), "A             BB        C\nlonger-cell   x         y\n");
  // An all-empty column still takes the minimum width; the last cell is never padded.
  assert.equal(tabwrite("PORTS\tNAMES\n\tweb\n"), "PORTS     NAMES\n          web\n");
});

test("templateOf strips table and turns \\t into tabs", () => {
  assert.equal(templateOf("table {{.ID}}\\t{{.Names}}"), "{{.ID}}\t{{.Names}}");
  assert.equal(templateOf("{{.ID}}"), "{{.ID}}");
});

const now = Date.parse("2024-05-01T12:00:00Z");
const web: ApiContainer = {
  Id: "74e2dfcfb7351afcd4009587e8e1ba6d7c08318dcbd78181f7b89aca31aa5bf1",
  Names: ["/web", "/other/alias"],
  Image: "busybox",
  ImageID: "sha256:7a0f870467f0586b8e1b2f47fb92f327a336f2c7dc8061a7cfe722db2f8c1ec2",
  Command: "sh -c 'echo hi; sleep 1000'",
  Created: now / 1000 - 120,
  Ports: [
    { IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp" },
    { PrivatePort: 443, Type: "tcp" },
  ],
  Labels: { b: "2", a: "1" },
  State: "running",
  Status: "Up 2 minutes",
  NetworkSettings: { Networks: { bridge: {}, mynet: {} } },
  Mounts: [{ Name: "0123456789abcdef0123", Driver: "local" }],
};

test("docker ps default table", () => {
  const out = renderRows(
    { format: "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}", headers: containerHeaders },
    [new ContainerContext(web, true, now)],
  );
  assert.equal(
    out,
    "CONTAINER ID   IMAGE     COMMAND                  CREATED         STATUS         PORTS                           NAMES\n" +
      "74e2dfcfb735   busybox   \"sh -c 'echo hi; sle…\"   2 minutes ago   Up 2 minutes   443/tcp, 0.0.0.0:8080->80/tcp   web\n",
  );
});

test("container context fields", () => {
  const c = new ContainerContext(web, true, now);
  assert.equal(c.Labels(), "a=1,b=2");
  assert.equal(c.Label("b"), "2");
  assert.equal(c.Networks(), "bridge,mynet");
  assert.equal(c.Mounts(), "0123456789abcd…");
  assert.equal(c.LocalVolumes(), "1");
  assert.equal(c.CreatedAt(), "2024-05-01 11:58:00 +0000 UTC");
  assert.equal(c.Size(), "0B");
  const full = new ContainerContext(web, false, now);
  assert.equal(full.Names(), "web,other/alias");
  assert.equal(full.Command(), "\"sh -c 'echo hi; sleep 1000'\"");
  assert.equal(full.ID(), web.Id);
});

test("non-table formats, json lines, and headers for labels", () => {
  const rows = [new ContainerContext(web, true, now)];
  assert.equal(renderRows({ format: "{{.Names}}", headers: containerHeaders }, rows), "web\n");
  assert.equal(renderRows({ format: 'table {{.Names}}\t{{.Label "a"}}', headers: containerHeaders }, rows), "NAMES     a\nweb       1\n");
  const json = JSON.parse(renderRows({ format: "json", headers: containerHeaders }, rows)) as Record<string, string>;
  assert.equal(json.Names, "web");
  // Published ports whose host port differs come last, as in docker.
  assert.equal(json.Ports, "443/tcp, 0.0.0.0:8080->80/tcp");
});

test("displayablePorts groups ranges like docker", () => {
  assert.equal(displayablePorts([]), "");
  assert.equal(
    displayablePorts([
      { IP: "0.0.0.0", PrivatePort: 8001, PublicPort: 8001, Type: "tcp" },
      { IP: "0.0.0.0", PrivatePort: 8000, PublicPort: 8000, Type: "tcp" },
      { PrivatePort: 53, Type: "udp" },
      { PrivatePort: 54, Type: "udp" },
      { IP: "::", PrivatePort: 80, PublicPort: 8080, Type: "tcp" },
    ]),
    "53-54/udp, 0.0.0.0:8000-8001->8000-8001/tcp, [::]:8080->80/tcp",
  );
});

test("images rows: one per tag, <none> for untagged", () => {
  const img = { Id: "sha256:7a0f870467f0586b8e1b", RepoTags: ["busybox:latest", "localhost:5000/bb:v1"], Created: now / 1000 - 3600, Size: 1_984_000 };
  const dangling = { Id: "sha256:aaaaaaaaaaaabbbb", RepoTags: ["<none>:<none>"], Created: now / 1000, Size: 0 };
  const out = renderRows(
    { format: "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}", headers: imageHeaders },
    imageRows([img, dangling], { trunc: true, digests: false, now }),
  );
  assert.equal(
    out,
    "REPOSITORY          TAG       IMAGE ID       CREATED                  SIZE\n" +
      "busybox             latest    7a0f870467f0   About an hour ago        1.98MB\n" +
      "localhost:5000/bb   v1        7a0f870467f0   About an hour ago        1.98MB\n" +
      "<none>              <none>    aaaaaaaaaaaa   Less than a second ago   0B\n",
  );
  assert.deepEqual(splitRepoTag("localhost:5000/a/b:tag"), ["localhost:5000/a/b", "tag"]);
  assert.deepEqual(splitRepoTag("localhost:5000/a/b"), ["localhost:5000/a/b", ""]);
});
