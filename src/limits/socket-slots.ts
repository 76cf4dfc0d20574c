// How many WebSockets one identity holds, across every API instance (WS_MAX_SOCKETS_PER_IDENTITY):
// a driver needs one, maybe two while a phone switches networks. Slots live in Redis on the
// shard owning the identity, expire unless refreshed (a crashed instance's sockets stop counting
// after SLOT_TTL_MS), and are given back when a socket closes. When Redis cannot answer, the
// socket is let in: a limit against abuse must not lock every driver out during an outage.
import { randomUUID } from 'node:crypto';
import type { Router } from '../redis/router.ts';

const SLOT_TTL_MS = 90_000;
const REFRESH_EVERY_MS = 30_000;

const keyOf = (identity: string) => `sockets:{${identity}}`;

export class SocketSlots {
  private readonly held = new Map<string, string>(); // socketId -> identity key
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly router: Router,
    private readonly maxPerIdentity: number,
  ) {}

  /** A slot id for this socket, or null when the identity already holds every slot. */
  async take(identity: string): Promise<string | null> {
    const socketId = randomUUID();
    const ok = await this.slot(identity, socketId).catch(() => true);
    if (!ok) return null;
    this.held.set(socketId, identity);
    this.timer ??= setInterval(() => void this.refresh(), REFRESH_EVERY_MS).unref();
    return socketId;
  }

  async give(socketId: string): Promise<void> {
    const identity = this.held.get(socketId);
    if (!identity) return;
    this.held.delete(socketId);
    await this.router.write(`sockets:${identity}`, (redis) => redis.zrem(keyOf(identity), socketId)).catch(() => {});
  }

  private async slot(identity: string, socketId: string): Promise<boolean> {
    const reply = await this.router.write(`sockets:${identity}`, (redis) => redis.socketSlot(keyOf(identity), socketId, this.maxPerIdentity, SLOT_TTL_MS));
    return Number(reply) === 1;
  }

  private async refresh(): Promise<void> {
    await Promise.all([...this.held].map(([socketId, identity]) => this.slot(identity, socketId).catch(() => true)));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
