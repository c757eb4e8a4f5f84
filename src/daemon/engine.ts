import { join } from "node:path";
import { BuildCache, Builder, type BuildReporter } from "../build/index.js";
import type { ProgressSink } from "../distribution/progress.js";
import { LocalContentStore } from "../content/index.js";
import { ContainerService } from "../container/container-service.js";
import { ContainerStore } from "../container/container-store.js";
import { EventBus } from "../container/events.js";
import { ExecService } from "../container/exec-service.js";
import { ImageService } from "../container/image-service.js";
import { VolumeStore } from "../container/volume-store.js";
import { LocalImageStore } from "../image/index.js";
import { LinuxNetworkManager, type NetworkManager } from "../network/index.js";
import type { Logger } from "../lib/logger.js";
import { ConmonRuntime } from "../runtime/index.js";
import { OverlaySnapshotter } from "../snapshot/index.js";
import { FileBlobSources } from "../distribution/blob-sources.js";
import { HttpRegistryClient } from "../distribution/http-registry-client.js";
import type { DaemonOptions } from "./daemon-options.js";

/** The engine's services, wired bottom-up over one data root and exec root. */
export interface Engine {
  containers: ContainerService;
  execs: ExecService;
  images: ImageService;
  volumes: VolumeStore;
  networks: NetworkManager;
  events: EventBus;
  builder: Builder;
}

/** Pull progress inside a build: Docker's classic builder prints the status lines, not the bars. */
function buildPullProgress(report: BuildReporter): ProgressSink {
  return (m) => {
    if (m.status === undefined || m.progress !== undefined) return;
    report.stream(`${m.id ? `${m.id}: ` : ""}${m.status}\n`);
  };
}

export async function createEngine(options: DaemonOptions, log: Logger): Promise<Engine> {
  const content = await LocalContentStore.open(join(options.dataRoot, "content"));
  const imageStore = await LocalImageStore.open(join(options.dataRoot, "image"), content);
  const snapshotter = await OverlaySnapshotter.open(join(options.dataRoot, "snapshots"));
  const runtime = new ConmonRuntime({ execRoot: options.execRoot, runtime: options.runtime });
  const volumes = new VolumeStore(join(options.dataRoot, "volumes"));
  await volumes.init();
  const events = new EventBus();
  const networks = await LinuxNetworkManager.open({
    dataRoot: options.dataRoot,
    execRoot: options.execRoot,
    log,
    bridgeCidr: options.bip,
    bridgeName: options.bridge,
    poolCidr: options.addressPool,
    chainPrefix: options.iptablesChainPrefix,
  });
  const registry = {
    client: new HttpRegistryClient({ insecureRegistries: options.insecureRegistries ?? [], ...(options.certsDirs ? { certsDirs: options.certsDirs } : {}) }),
    sources: await FileBlobSources.open(join(options.dataRoot, "distribution")),
  };
  const images = new ImageService(imageStore, snapshotter, events, log, registry);
  const containers = new ContainerService({
    store: new ContainerStore(join(options.dataRoot, "containers")),
    images: imageStore,
    content,
    snapshotter,
    runtime,
    volumes,
    network: networks,
    events,
    log,
  });
  images.attachContainers(containers);
  await containers.recover();
  const execs = new ExecService(containers, runtime, events);
  const builder = new Builder({
    images: imageStore,
    snapshotter,
    containers,
    cache: await BuildCache.open(join(options.dataRoot, "builder")),
    scratchDir: join(options.dataRoot, "builder", "tmp"),
    log,
    pull: (ref, report) => images.pull(ref, { progress: buildPullProgress(report) }),
  });
  await builder.recover();
  return { containers, execs, images, volumes, networks, events, builder };
}
