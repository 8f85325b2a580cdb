import { randomBytes } from 'node:crypto';

/**
 * Checks that this replica's eviction subscription still hears the channel. A subscription can go deaf without an
 * error: on a Redis Cluster, the node holding it frozen (SIGSTOP, a hung host) and failed over by the cluster closes
 * no socket, and no command this replica sends fails, so eviction broadcasts from other replicas are lost silently.
 *
 * Every `intervalMs` a heartbeat (`{"hb":"<random nonce>"}`, no eviction meaning: a forged or replayed one is
 * ignored, as is another replica's) is published on the eviction channel. A heartbeat Redis accepted but that this
 * replica did not hear back within `echoMs` — whether Redis accepted it, refused it or never answered — makes the
 * subscription suspect: `onChange(true)`, and `onLost` at each heartbeat lost (move the subscription). A refused one
 * counts too: this replica alone may be cut off from Redis while the others still publish evictions (a partitioned
 * pod), so unheard means unproven. The first heartbeat heard again, sent after the suspicion began, clears it:
 * `onChange(false)`. Cost: one PUBLISH per `intervalMs` per replica, each delivered to every replica.
 *
 * A subscription starts unproven (`suspect` from construction, without `onChange`): never heard is not heard. A replica
 * started while cut off from Redis, whose subscribe never completes, is therefore suspect from its first request.
 */
export class SubscriptionHeartbeat {
  private readonly pending = new Map<string, { sentAt: number }>();
  private timer?: ReturnType<typeof setInterval>;
  private suspectSince?: number = Date.now();

  constructor(
    private readonly publish: (message: string) => Promise<unknown>,
    private readonly onChange: (suspect: boolean) => void,
    private readonly onLost: () => void,
    private readonly intervalMs = 500,
    private readonly echoMs = 400,
  ) {}

  /** Whether the subscription is suspect (a heartbeat was not heard back). */
  get suspect(): boolean {
    return this.suspectSince !== undefined;
  }

  /** Starts beating (idempotent). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref?.();
    this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }

  /** A message heard on the channel: true when it was a heartbeat (this replica's or another's), not an eviction. */
  heard(message: { readonly hb?: unknown }): boolean {
    if (typeof message.hb !== 'string') return false;
    const beat = this.pending.get(message.hb);
    if (!beat) return true;
    this.pending.delete(message.hb);
    if (this.suspectSince !== undefined && beat.sentAt >= this.suspectSince) {
      this.suspectSince = undefined;
      this.onChange(false);
    }
    return true;
  }

  private tick(now = Date.now()): void {
    let lost = false;
    for (const [nonce, beat] of this.pending) {
      if (now - beat.sentAt >= this.echoMs) {
        this.pending.delete(nonce);
        lost = true;
      }
    }
    if (lost) {
      if (this.suspectSince === undefined) {
        this.suspectSince = now;
        this.onChange(true);
      }
      this.onLost();
    }
    const nonce = randomBytes(12).toString('base64url');
    this.pending.set(nonce, { sentAt: now });
    // Refused or not, it is judged by whether it is heard back (above).
    this.publish(JSON.stringify({ hb: nonce })).catch(() => undefined);
  }
}
