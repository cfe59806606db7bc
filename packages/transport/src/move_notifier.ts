/**
 * Delivers invalidateMappings ("move_notify") to dynamic importers in any
 * thread. Correctness never rests on delivery: a stale mapping is refused
 * by its epoch check; the callback only tells the importer to re-map early.
 */
type Listener = () => void;

/** The global BroadcastChannel (Node has it since 18, every browser too). */
type Channel = InstanceType<typeof BroadcastChannel>;

interface PoolChannel {
  channel: Channel;
  listeners: Map<string, Listener>;
}

const channels = new Map<number, PoolChannel>();

const keyOf = (slot: number, gen: number): string => `${slot}:${gen}`;

function channelName(poolId: number): string {
  return `collective-pool-move-notify-${poolId}`;
}

export function listenForMoves(poolId: number, slot: number, gen: number, listener: Listener): void {
  let pc = channels.get(poolId);
  if (!pc) {
    const channel = new BroadcastChannel(channelName(poolId));
    // A thread whose only open handle is this channel may still exit.
    (channel as unknown as { unref?: () => void }).unref?.();
    const created: PoolChannel = { channel, listeners: new Map() };
    channel.onmessage = (ev: unknown) => {
      const keys = (ev as { data: string[] }).data;
      for (const k of keys) created.listeners.get(k)?.();
    };
    channels.set(poolId, created);
    pc = created;
  }
  pc.listeners.set(keyOf(slot, gen), listener);
}

export function stopListening(poolId: number, slot: number, gen: number): void {
  const pc = channels.get(poolId);
  if (!pc) return;
  pc.listeners.delete(keyOf(slot, gen));
  if (pc.listeners.size === 0) {
    pc.channel.close();
    channels.delete(poolId);
  }
}

export function notifyMoved(poolId: number, attachments: { slot: number; gen: number }[]): void {
  if (attachments.length === 0) return;
  const keys = attachments.map((a) => keyOf(a.slot, a.gen));
  // Every other channel of this name hears it, this thread's own listener included.
  const sender = new BroadcastChannel(channelName(poolId));
  sender.postMessage(keys);
  sender.close();
}
