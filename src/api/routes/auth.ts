import type { ImageService } from "../../container/image-service.js";
import { credentialsOf, normalizeAuthConfig } from "../../distribution/auth-config.js";
import { dockerHubAuthKey } from "../../distribution/credentials.js";
import { InvalidArgumentError } from "../../lib/errors.js";
import { readJson, sendJson } from "../http-io.js";
import type { Router } from "../router.js";

/**
 * `POST /auth` (https://docs.docker.com/engine/api/v1.45/#tag/System/operation/SystemAuth):
 * checks credentials against the registry; the client stores them.
 */
export function authRoutes(router: Router, images: ImageService): void {
  router.add("POST", "/auth", async (ctx) => {
    const config = normalizeAuthConfig(await readJson<unknown>(ctx, {}));
    const credentials = credentialsOf(config);
    if (!credentials) throw new InvalidArgumentError("username is required");
    await images.login(config.serveraddress || dockerHubAuthKey, credentials);
    sendJson(ctx.res!, 200, { Status: "Login Succeeded", IdentityToken: "" });
  });
}
