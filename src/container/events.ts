/**
 * The daemon's event stream (`GET /events`): containers, images, volumes
 * report what happened; subscribers get live events and, on request, the
 * recent past kept in a bounded ring.
 * https://docs.docker.com/engine/api/v1.45/#tag/System/operation/SystemEvents
 */
export interface EngineEvent {
  Type: "container" | "image" | "volume" | "network" | "daemon";
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: "local";
  time: number;
  timeNano: number;
}

type Listener = (e: EngineEvent) => void;

export class EventBus {
  readonly #recent: EngineEvent[] = [];
  readonly #listeners = new Set<Listener>();
  readonly #capacity: number;

  constructor(capacity = 1024) {
    this.#capacity = capacity;
  }

  emit(type: EngineEvent["Type"], action: string, id: string, attributes: Record<string, string> = {}): void {
    const nowNs = BigInt(Date.now()) * 1_000_000n + process.hrtime.bigint() % 1_000_000n;
    const event: EngineEvent = {
      Type: type,
      Action: action,
      Actor: { ID: id, Attributes: attributes },
      scope: "local",
      time: Number(nowNs / 1_000_000_000n),
      timeNano: Number(nowNs),
    };
    this.#recent.push(event);
    if (this.#recent.length > this.#capacity) this.#recent.shift();
    for (const l of this.#listeners) l(event);
  }

  /** Events since `sinceNano` that are still in the ring. */
  past(sinceNano: number): EngineEvent[] {
    return this.#recent.filter((e) => e.timeNano >= sinceNano);
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
