/**
 * Media types this layer reads and writes, from the OCI image spec
 * (https://github.com/opencontainers/image-spec/blob/main/media-types.md) and
 * Docker's image manifest v2 schema 2
 * (https://github.com/distribution/distribution/blob/main/docs/content/spec/manifest-v2-2.md).
 */
export const MediaTypes = {
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  ociLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  dockerForeignLayerGzip: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
} as const;

/** True when a layer media type says gzip (the data is sniffed anyway). */
export function isGzipLayerType(mediaType: string): boolean {
  return mediaType.endsWith("+gzip") || mediaType.endsWith(".tar.gzip");
}

/** Architecture names as the OCI spec spells them (GOARCH), from Node's `process.arch`. */
export function ociArchitecture(arch: string = process.arch): string {
  switch (arch) {
    case "x64": return "amd64";
    case "ia32": return "386";
    case "arm64": return "arm64";
    case "arm": return "arm";
    case "ppc64": return "ppc64le";
    case "s390x": return "s390x";
    case "riscv64": return "riscv64";
    default: return arch;
  }
}
