/** `wharf logout [SERVER]`: forget the stored credentials (the daemon is not involved, as with docker). */
import { credentialKey, CredentialsFile, dockerConfigPath, dockerHubAuthKey } from "../../distribution/credentials.js";
import { newCommand, parseArgs, println, requireArgs, type CliIo } from "../command-kit.js";

export async function execute(argv: string[], io: CliIo): Promise<number> {
  const cmd = newCommand("logout", "[SERVER]", "Log out from a registry.\nIf no server is specified, the default is defined by the daemon.", io.stdout);
  const { args } = parseArgs(cmd, "logout", argv);
  requireArgs("logout", args, { max: 1 });
  const server = args[0] ?? dockerHubAuthKey;
  const file = await CredentialsFile.load(dockerConfigPath(io.env));
  if (!(await file.erase(server))) {
    println(io.stdout, `Not logged in to ${credentialKey(server)}`);
    return 0;
  }
  await file.save();
  println(io.stdout, `Removing login credentials for ${credentialKey(server)}`);
  return 0;
}
