import { hostname, cpus, totalmem, release } from "node:os";
import type { ContainerService } from "../../container/container-service.js";
import type { EngineEvent, EventBus } from "../../container/events.js";
import { queryFilters } from "../http-io.js";
import { sendJson } from "../http-io.js";
import type { Router } from "../router.js";
import { parseTime } from "./containers.js";
import { maxApiVersion, minApiVersion, wharfVersion } from "../version.js";

export interface SystemRouteDeps {
  containers: ContainerService;
  events: EventBus;
  imageCount(): Promise<number>;
  dataRoot: string;
  runtimePath: string;
  startedAt: Date;
}

const goArch: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386" };

export function systemRoutes(router: Router, deps: SystemRouteDeps): void {
  const ping = async (ctx: Parameters<Parameters<Router["add"]>[2]>[0]) => {
    const res = ctx.res!;
    res.writeHead(200, {
      "Content-Type": "text/plain; charset=utf-8",
      "Cache-Control": "no-cache, no-store, must-revalidate",
      Pragma: "no-cache",
      "Docker-Experimental": "false",
      "Builder-Version": "1",
    });
    res.end(ctx.req.method === "HEAD" ? undefined : "OK");
  };
  router.add("GET", "/_ping", ping);
  router.add("HEAD", "/_ping", ping);

  router.add("GET", "/version", async (ctx) => {
    const arch = goArch[process.arch] ?? process.arch;
    sendJson(ctx.res!, 200, {
      Platform: { Name: "Wharf Engine" },
      Components: [{ Name: "Engine", Version: wharfVersion, Details: { ApiVersion: maxApiVersion, MinAPIVersion: minApiVersion, Os: "linux", Arch: arch, KernelVersion: release(), GitCommit: "", GoVersion: `node${process.versions.node}` } }],
      Version: wharfVersion,
      ApiVersion: maxApiVersion,
      MinAPIVersion: minApiVersion,
      GitCommit: "",
      GoVersion: `node${process.versions.node}`,
      Os: "linux",
      Arch: arch,
      KernelVersion: release(),
      BuildTime: "",
    });
  });

  router.add("GET", "/info", async (ctx) => {
    const list = deps.containers.list();
    sendJson(ctx.res!, 200, {
      ID: "",
      Containers: list.length,
      ContainersRunning: list.filter((r) => r.state.Running && !r.state.Paused).length,
      ContainersPaused: list.filter((r) => r.state.Paused).length,
      ContainersStopped: list.filter((r) => !r.state.Running).length,
      Images: await deps.imageCount(),
      Driver: "overlay2",
      DriverStatus: [["Backing Filesystem", "extfs"]],
      Plugins: { Volume: ["local"], Network: ["host", "null"], Authorization: null, Log: ["k8s-file"] },
      MemoryLimit: false,
      SwapLimit: false,
      CpuCfsPeriod: false,
      CpuCfsQuota: false,
      CPUShares: false,
      CPUSet: false,
      PidsLimit: false,
      IPv4Forwarding: true,
      Debug: false,
      NFd: 0,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: "k8s-file",
      CgroupDriver: "cgroupfs",
      CgroupVersion: "1",
      NEventsListener: 0,
      KernelVersion: release(),
      OperatingSystem: "Wharf",
      OSVersion: "",
      OSType: "linux",
      Architecture: process.arch === "x64" ? "x86_64" : process.arch,
      NCPU: cpus().length,
      MemTotal: totalmem(),
      IndexServerAddress: "https://index.docker.io/v1/",
      RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: ["127.0.0.0/8"], Mirrors: [] },
      DockerRootDir: deps.dataRoot,
      HttpProxy: "",
      HttpsProxy: "",
      NoProxy: "",
      Name: hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: wharfVersion,
      Runtimes: { runc: { path: deps.runtimePath } },
      DefaultRuntime: "runc",
      Swarm: { NodeID: "", NodeAddr: "", LocalNodeState: "inactive", ControlAvailable: false, Error: "", RemoteManagers: null },
      LiveRestoreEnabled: true,
      Isolation: "",
      InitBinary: "",
      SecurityOptions: ["name=seccomp,profile=builtin"],
      Warnings: [],
    });
  });

  router.add("GET", "/events", async (ctx) => {
    const filters = queryFilters(ctx.query);
    const since = parseTime(ctx.query.get("since"));
    const until = parseTime(ctx.query.get("until"));
    const matches = (e: EngineEvent) => eventMatches(e, filters);
    const res = ctx.res!;
    res.writeHead(200, { "Content-Type": "application/json" });
    res.flushHeaders();
    const write = (e: EngineEvent) => res.write(JSON.stringify(docker(e)) + "\n");
    if (since !== undefined) {
      for (const e of deps.events.past(since * 1e9)) if (matches(e) && (until === undefined || e.time <= until)) write(e);
    }
    if (until !== undefined && until * 1000 <= Date.now()) {
      res.end();
      return;
    }
    await new Promise<void>((resolve) => {
      const unsubscribe = deps.events.subscribe((e) => {
        if (matches(e)) write(e);
      });
      const stop = () => {
        unsubscribe();
        resolve();
      };
      res.once("close", stop);
      if (until !== undefined) setTimeout(stop, until * 1000 - Date.now()).unref();
    });
    res.end();
  });
}

/** Pre-1.22 clients read `status`/`id`/`from`; Docker still sends them for containers. */
function docker(e: EngineEvent): Record<string, unknown> {
  if (e.Type !== "container" && e.Type !== "image") return { ...e };
  return { status: e.Action, id: e.Actor.ID, from: e.Actor.Attributes.image ?? "", ...e };
}

function eventMatches(e: EngineEvent, filters: Map<string, string[]>): boolean {
  for (const [key, values] of filters) {
    const ok = values.some((v) => {
      switch (key) {
        case "type":
          return e.Type === v;
        case "event":
          return e.Action === v || e.Action.startsWith(`${v}:`);
        case "container":
          return e.Type === "container" && (e.Actor.ID.startsWith(v) || e.Actor.Attributes.name === v);
        case "image":
          return e.Actor.Attributes.image === v || (e.Type === "image" && e.Actor.ID === v);
        case "label": {
          const i = v.indexOf("=");
          return i < 0 ? v in e.Actor.Attributes : e.Actor.Attributes[v.slice(0, i)] === v.slice(i + 1);
        }
        case "volume":
          return e.Type === "volume" && e.Actor.ID === v;
        default:
          return true;
      }
    });
    if (!ok) return false;
  }
  return true;
}
