/** `wharf version`: the client's version plus GET /version, laid out like `docker version`. */
import { arch, platform } from "node:os";
import { clientMaxApiVersion } from "../client.js";
import { describeError, newCommand, parseArgs, requireArgs, type CliIo } from "../command-kit.js";
import { GoTemplate } from "../format/go-template.js";
import { tabwrite } from "../format/table.js";
import { gitCommit, packageVersion } from "../build-info.js";

interface ServerVersion {
  Platform?: { Name?: string };
  Components?: Array<{ Name: string; Version: string; Details?: Record<string, string> }>;
  Version?: string;
  ApiVersion?: string;
  MinAPIVersion?: string;
  GitCommit?: string;
  GoVersion?: string;
  Os?: string;
  Arch?: string;
  KernelVersion?: string;
  BuildTime?: string;
  Experimental?: boolean;
}

const goArch: Record<string, string> = { x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386" };

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("version", "[OPTIONS]", "Show the Wharf version information", io.stdout).option(
    "-f, --format <string>",
    "Format output using a custom template",
  );
  const { options: o, args } = parseArgs(cmd, "version", argv);
  requireArgs("version", args, { max: 0 });
  let server: ServerVersion | undefined;
  let serverError: unknown;
  let apiVersion = clientMaxApiVersion;
  try {
    apiVersion = await io.client.apiVersion();
    server = await io.client.json<ServerVersion>("GET", "/version");
  } catch (err) {
    serverError = err;
  }
  const client = {
    Platform: { Name: "" },
    Version: packageVersion(),
    ApiVersion: apiVersion,
    DefaultAPIVersion: clientMaxApiVersion,
    NodeVersion: process.version,
    GitCommit: gitCommit(),
    Os: platform(),
    Arch: goArch[arch()] ?? arch(),
  };
  if (o.format) {
    io.stdout.write(`${GoTemplate.parse(String(o.format)).execute({ Client: client, Server: server ?? null })}\n`);
  } else {
    let text = `Client:\n Version:\t${client.Version}\n API version:\t${client.ApiVersion}${
      client.ApiVersion !== client.DefaultAPIVersion ? ` (downgraded from ${client.DefaultAPIVersion})` : ""
    }\n Node version:\t${client.NodeVersion}\n Git commit:\t${client.GitCommit}\n OS/Arch:\t${client.Os}/${client.Arch}\n`;
    if (server) {
      text += `\nServer:${server.Platform?.Name ? ` ${server.Platform.Name}` : ""}\n`;
      const components = server.Components ?? [
        {
          Name: "Engine",
          Version: server.Version ?? "",
          Details: {
            ApiVersion: server.ApiVersion ?? "",
            MinAPIVersion: server.MinAPIVersion ?? "",
            GitCommit: server.GitCommit ?? "",
            GoVersion: server.GoVersion ?? "",
            Os: server.Os ?? "",
            Arch: server.Arch ?? "",
            BuildTime: server.BuildTime ?? "",
            Experimental: String(server.Experimental ?? false),
          },
        },
      ];
      for (const c of components) {
        const d = c.Details ?? {};
        text += ` ${c.Name}:\n  Version:\t${c.Version}\n`;
        if (c.Name === "Engine") {
          text += `  API version:\t${d.ApiVersion ?? ""} (minimum version ${d.MinAPIVersion ?? ""})\n`;
          if (d.GoVersion) text += `  Go version:\t${d.GoVersion}\n`;
          if (d.NodeVersion) text += `  Node version:\t${d.NodeVersion}\n`;
          text += `  Git commit:\t${d.GitCommit ?? ""}\n`;
          if (d.BuildTime) text += `  Built:\t${d.BuildTime}\n`;
          text += `  OS/Arch:\t${d.Os ?? ""}/${d.Arch ?? ""}\n  Experimental:\t${d.Experimental ?? "false"}\n`;
        } else {
          for (const [k, v] of Object.entries(d)) text += `  ${k}:\t${v}\n`;
        }
      }
    }
    io.stdout.write(tabwrite(text, 20, 1));
  }
  if (serverError) {
    io.stderr.write(`${describeError(serverError)}\n`);
    return 1;
  }
  return 0;
}
