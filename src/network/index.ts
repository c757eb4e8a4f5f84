/** The network layer's public surface; see `network-manager.ts` for the contract. */
export type {
  AttachRequest,
  CreateNetworkRequest,
  Endpoint,
  EndpointRequest,
  EtcFiles,
  IpamConfig,
  LinkRequest,
  Network,
  NetworkContainer,
  NetworkDriver,
  NetworkManager,
  NetworkStore,
  PortBinding,
  Sandbox,
  SandboxManager,
} from "./network-manager.js";
export { LinuxNetworkManager, type NetworkManagerOptions } from "./linux-network-manager.js";
