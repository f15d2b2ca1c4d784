import { createSourceEventStream, execute, print, type ExecutionArgs, type ExecutionResult } from 'graphql';

// The feed hands the same event object to every subscriber, so results can be keyed by it.
const sharedResults = new WeakMap<object, Map<string, Promise<ExecutionResult> | ExecutionResult>>();

/**
 * graphql-ws's `subscribe`, executing each event once per document, variables and role
 * instead of once per subscriber. Sound because a subscription payload resolves from
 * the event alone: what a result holds depends on nothing else but the role's rights.
 */
export async function subscribeShared(args: ExecutionArgs, role: string) {
  const stream = await createSourceEventStream(args);
  if (!(Symbol.asyncIterator in (stream as object))) return stream as ExecutionResult;
  const key = `${role}\u0000${print(args.document)}\u0000${JSON.stringify(args.variableValues ?? {})}`;
  const source = (stream as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  const run = (payload: unknown) => {
    if (payload === null || typeof payload !== 'object') return execute({ ...args, rootValue: payload });
    let byKey = sharedResults.get(payload);
    if (!byKey) sharedResults.set(payload, (byKey = new Map()));
    let result = byKey.get(key);
    if (!result) byKey.set(key, (result = execute({ ...args, rootValue: payload })));
    return result;
  };
  const results: AsyncIterableIterator<ExecutionResult> = {
    async next() {
      const r = await source.next();
      return r.done ? { value: undefined, done: true } : { value: await run(r.value), done: false };
    },
    return: () => (source.return ? source.return() : Promise.resolve({ value: undefined, done: true })) as Promise<IteratorResult<ExecutionResult>>,
    throw: (e: unknown) => (source.throw ? source.throw(e) : Promise.reject(e)) as Promise<IteratorResult<ExecutionResult>>,
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return results;
}
