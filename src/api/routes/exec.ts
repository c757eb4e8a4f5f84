import type { ExecConfig, ExecService } from "../../container/exec-service.js";
import { InvalidArgumentError } from "../../lib/errors.js";
import { hijack } from "../hijack.js";
import { queryInt, readJson, sendJson, sendNoContent } from "../http-io.js";
import type { Router } from "../router.js";
import { frame } from "../stdcopy.js";

export function execRoutes(router: Router, execs: ExecService): void {
  router.add("POST", "/containers/{id}/exec", async (ctx) => {
    const body = await readJson<ExecConfig>(ctx, { Cmd: [] });
    if (typeof body !== "object" || body === null) throw new InvalidArgumentError("invalid JSON: expected an object");
    sendJson(ctx.res!, 201, { Id: execs.create(ctx.params.id!, body) });
  });

  router.add("POST", "/exec/{id}/start", async (ctx) => {
    const body = await readJson<{ Detach?: boolean; Tty?: boolean; ConsoleSize?: [number, number] }>(ctx, {});
    const exec = execs.get(ctx.params.id!);
    if (body.Detach) {
      await execs.start(exec.id, undefined, undefined);
      sendNoContent(ctx.res ?? fail(), 200);
      return;
    }
    const tty = exec.config.Tty ?? false;
    const stream = hijack(ctx, tty ? "application/vnd.docker.raw-stream" : "application/vnd.docker.multiplexed-stream");
    try {
      const { done } = await execs.start(
        exec.id,
        stream.input,
        (s, data) => {
          if ((s === "stdout" && exec.config.AttachStdout !== false) || (s === "stderr" && exec.config.AttachStderr !== false)) {
            stream.write(tty ? data : frame(s, data));
          }
        },
        body.ConsoleSize,
      );
      await done;
    } catch (err) {
      // The stream is already hijacked: the error can only travel as output.
      const msg = Buffer.from(`${err instanceof Error ? err.message : String(err)}\r\n`);
      stream.write(tty ? msg : frame("stderr", msg));
    }
    stream.end();
  });

  router.add("POST", "/exec/{id}/resize", async (ctx) => {
    await execs.resize(ctx.params.id!, queryInt(ctx.query, "h") ?? 0, queryInt(ctx.query, "w") ?? 0);
    sendNoContent(ctx.res!, 200);
  });

  router.add("GET", "/exec/{id}/json", async (ctx) => {
    const e = execs.get(ctx.params.id!);
    sendJson(ctx.res!, 200, {
      ID: e.id,
      ContainerID: e.containerId,
      Running: e.running,
      ExitCode: e.exitCode,
      Pid: e.pid,
      OpenStdin: e.config.AttachStdin ?? false,
      OpenStdout: e.config.AttachStdout ?? true,
      OpenStderr: e.config.AttachStderr ?? true,
      CanRemove: false,
      DetachKeys: e.config.DetachKeys ?? "",
      ProcessConfig: {
        tty: e.config.Tty ?? false,
        entrypoint: e.config.Cmd[0],
        arguments: e.config.Cmd.slice(1),
        privileged: e.config.Privileged ?? false,
        user: e.config.User ?? "",
      },
    });
  });
}

function fail(): never {
  throw new InvalidArgumentError("detached exec start cannot be upgraded");
}
