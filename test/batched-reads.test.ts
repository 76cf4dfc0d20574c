// What a reconnect storm leans on: reads of many drivers at once go to Postgres together and
// each driver still gets its own answer; feeds share one SUBSCRIBE per channel.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import { ChannelFanOut } from '../src/redis/channel-fan-out.ts';
import { registerDrivers } from './helpers/fixtures.ts';
import { eventually } from './helpers/graphql.ts';
import { startStack, uniqueId, type Stack } from './helpers/stack.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.stop());

describe('reads made together', () => {
  it('each driver gets its own profile, dispatch state and offers; an unknown id gets none', async () => {
    const drivers = await registerDrivers(stack.services, [{ id: uniqueId('bat') }, { id: uniqueId('bat') }, { id: uniqueId('bat') }]);
    const ids = [...drivers.map((d) => d.id), uniqueId('nobody')];
    const { registry, records, queries } = stack.services;
    const [profiles, truths, offers] = await Promise.all([
      Promise.all(ids.map((id) => registry.driver(id))),
      Promise.all(ids.map((id) => records.truthOf(id))),
      Promise.all(ids.map((id) => queries.liveOffers(id))),
    ]);
    expect(profiles.map((p) => p?.id ?? null)).toEqual([...drivers.map((d) => d.id), null]);
    expect(profiles.map((p) => p?.name ?? null)).toEqual([...drivers.map((d) => d.name), null]);
    expect(truths.map((t) => t.state)).toEqual(['FREE', 'FREE', 'FREE', 'FREE']);
    expect(offers).toEqual([[], [], [], []]);
  });
});

describe('one SUBSCRIBE per channel', () => {
  it('listeners of one channel share it, all hear each message, and the last one to leave unsubscribes', async () => {
    const subscriber = new Redis(stack.bus.url);
    const publisher = new Redis(stack.bus.url);
    const fanOut = new ChannelFanOut(new RedisPubSub({ publisher, subscriber }));
    const channel = uniqueId('chan');
    const subscribers = async () => ((await publisher.pubsub('NUMSUB', channel)) as [string, number])[1];
    try {
      const heard: string[] = [];
      const a = { deliver: (m: unknown) => heard.push(`a:${(m as { n: number }).n}`) };
      const b = { deliver: (m: unknown) => heard.push(`b:${(m as { n: number }).n}`) };
      await Promise.all([fanOut.listen(channel, a), fanOut.listen(channel, b)]);
      expect(await subscribers()).toBe(1);
      await publisher.publish(channel, JSON.stringify({ n: 1 }));
      await eventually(() => heard.length === 2);
      expect(heard.sort()).toEqual(['a:1', 'b:1']);
      fanOut.stopListening(channel, a);
      await publisher.publish(channel, JSON.stringify({ n: 2 }));
      await eventually(() => heard.length === 3);
      expect(heard.at(-1)).toBe('b:2');
      expect(await subscribers()).toBe(1);
      fanOut.stopListening(channel, b);
      await eventually(async () => (await subscribers()) === 0);
      expect(fanOut.channelCount).toBe(0);
    } finally {
      subscriber.disconnect();
      publisher.disconnect();
    }
  });
});
