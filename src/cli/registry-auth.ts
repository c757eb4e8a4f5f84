/**
 * The credentials the CLI hands the daemon for a registry, from the docker
 * CLI's own `config.json` or the credential helper it names (so `docker
 * login` and `wharf login` are one login), encoded as the `X-Registry-Auth`
 * header the docker CLI sends.
 */
import { encodeAuthHeader, type AuthConfig } from "../distribution/auth-config.js";
import { credentialKey, CredentialsFile, dockerConfigPath } from "../distribution/credentials.js";
import { parseReference } from "../image/reference.js";

/** The header for pulling or pushing `image` (anonymous `{}` when there is no login for its registry). */
export async function registryAuthHeader(image: string, env: Record<string, string | undefined>): Promise<string> {
  const domain = parseReference(image).domain;
  const file = await CredentialsFile.load(dockerConfigPath(env)).catch(() => undefined);
  const creds = await file?.lookup(domain);
  const config: AuthConfig = creds ? { username: creds.username, password: creds.password, serveraddress: credentialKey(domain) } : {};
  return encodeAuthHeader(config);
}
