import { createSourceEventStream, execute, print, type ExecutionArgs, type ExecutionResult } from 'graphql';

type Shared = Map<string, Promise<ExecutionResult> | ExecutionResult>;

/** Results per event object, keyed by document, variables and role; gone with the event. */
const resultsByEvent = new WeakMap<object, Shared>();

/**
 * graphql-ws's `subscribe`: executes each event once per document, variables and role
 * instead of once per subscriber. Sound because a subscription payload resolves from
 * the event alone (the feed hands every subscriber the same event object), so what a
 * result holds depends on nothing but the role's rights. With 1 000 dashboards open on
 * the same subscription, an event costs one execution and 1 000 socket writes.
 */
export async function subscribeShared(args: ExecutionArgs, role: string): Promise<AsyncIterableIterator<ExecutionResult> | ExecutionResult> {
  const stream = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in stream)) return stream;
  const key = `${role}\u0000${print(args.document)}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}`;
  const source = stream[Symbol.asyncIterator]();
  const run = (event: unknown) => {
    if (event === null || typeof event !== 'object') return execute({ ...args, rootValue: event });
    let shared = resultsByEvent.get(event);
    if (!shared) resultsByEvent.set(event, (shared = new Map()));
    let result = shared.get(key);
    if (!result) shared.set(key, (result = execute({ ...args, rootValue: event })));
    return result;
  };
  const done = { value: undefined, done: true } as const;
  const results: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      const r = await source.next();
      return r.done ? done : { value: await run(r.value), done: false };
    },
    async return() {
      await source.return?.();
      return done;
    },
    async throw(err: unknown) {
      if (source.throw) await source.throw(err);
      throw err;
    },
    [Symbol.asyncIterator]: () => results,
  };
  return results;
}
