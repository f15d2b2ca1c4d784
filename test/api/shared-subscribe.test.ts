import { EventEmitter } from 'node:events';
import { GraphQLInt, GraphQLObjectType, GraphQLSchema, GraphQLString, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { Channel } from '../../api/events/channel';
import { subscribeShared } from '../../api/graphql/shared-subscribe';

/** A feed that hands every subscriber the same event object, as the server's does. */
function setup() {
  const feed = new EventEmitter().setMaxListeners(0);
  let executions = 0;
  const Tick = new GraphQLObjectType({
    name: 'Tick',
    fields: {
      n: { type: GraphQLInt },
      label: {
        type: GraphQLString,
        args: { prefix: { type: GraphQLString } },
        resolve: (event: { n: number }, args: { prefix?: string }) => {
          executions++;
          return `${args.prefix ?? ''}${event.n}`;
        },
      },
    },
  });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt, resolve: () => 1 } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        ticks: {
          type: Tick,
          subscribe: () => {
            const push = (event: unknown) => channel.push(event);
            const channel = new Channel<unknown>(100, () => feed.off('tick', push), () => new Error('overflow'));
            feed.on('tick', push);
            return channel;
          },
          resolve: (event: unknown) => event,
        },
      },
    }),
  });
  const document = parse('subscription($p: String) { ticks { n label(prefix: $p) } }');
  const open = async (role: string, p: string) => {
    const it = (await subscribeShared({ schema, document, variableValues: { p } }, role)) as AsyncIterableIterator<{ data?: unknown }>;
    const first = it.next();
    return { it, first };
  };
  return { feed, open, executions: () => executions };
}

describe('shared subscription execution', () => {
  it('executes an event once for subscribers with the same document, variables and role', async () => {
    const { feed, open, executions } = setup();
    const subs = await Promise.all(Array.from({ length: 50 }, () => open('viewer', '#')));
    feed.emit('tick', { n: 1 });
    const results = await Promise.all(subs.map((s) => s.first));
    expect(results.map((r) => r.value)).toEqual(Array(50).fill({ data: { ticks: { n: 1, label: '#1' } } }));
    expect(executions()).toBe(1);
    await Promise.all(subs.map((s) => s.it.return!()));
  });

  it('keeps results apart for other variables or another role', async () => {
    const { feed, open, executions } = setup();
    const subs = [await open('viewer', '#'), await open('viewer', '@'), await open('admin', '#'), await open('admin', '#')];
    feed.emit('tick', { n: 7 });
    const labels = (await Promise.all(subs.map((s) => s.first))).map((r) => (r.value as { data: { ticks: { label: string } } }).data.ticks.label);
    expect(labels).toEqual(['#7', '@7', '#7', '#7']);
    expect(executions()).toBe(3);
    // A new event object is executed afresh.
    const next = subs.map((s) => s.it.next());
    feed.emit('tick', { n: 8 });
    expect((await Promise.all(next)).map((r) => (r.value as { data: { ticks: { label: string } } }).data.ticks.label)).toEqual(['#8', '@8', '#8', '#8']);
    expect(executions()).toBe(6);
    await Promise.all(subs.map((s) => s.it.return!()));
  });

  it('ends the source stream when the subscriber leaves', async () => {
    const { feed, open } = setup();
    const sub = await open('viewer', '#');
    expect(feed.listenerCount('tick')).toBe(1);
    expect(await sub.it.return!()).toEqual({ value: undefined, done: true });
    expect(await sub.first).toEqual({ value: undefined, done: true });
    expect(feed.listenerCount('tick')).toBe(0);
  });

  it('passes errors before the stream starts through as a result', async () => {
    const schema = new GraphQLSchema({ query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLInt } } }) });
    const result = await subscribeShared({ schema, document: parse('subscription { nothing }') }, 'viewer');
    expect(result).toMatchObject({ errors: [expect.objectContaining({ message: expect.stringContaining('subscription') })] });
  });
});
