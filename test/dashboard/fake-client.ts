import { CombinedError, type Client } from '@urql/core';
import { GraphQLError, type DocumentNode, type OperationDefinitionNode } from 'graphql';

type Answer = (variables: Record<string, unknown>) => unknown;

/**
 * Stands in for the urql client at the component boundary: answers queries by operation
 * name and lets a test push subscription events. The app only calls query().toPromise()
 * and subscription().subscribe(), which is all this implements.
 */
export class FakeClient {
  calls: Array<{ name: string; variables: Record<string, unknown> }> = [];
  #answers = new Map<string, Answer>();
  #failures = new Map<string, CombinedError>();
  #subscribers = new Map<(result: { data: unknown }) => void, string>();

  answer(name: string, fn: Answer) {
    this.#answers.set(name, fn);
    return this;
  }

  /** Answers `name` with a GraphQL error carrying these extensions (a code, the fields to fix). */
  fail(name: string, message: string, extensions: Record<string, unknown>) {
    this.#failures.set(name, new CombinedError({ graphQLErrors: [new GraphQLError(message, { extensions })] }));
    return this;
  }

  /** Stops answering `name` (as a server that went away): queries get an error until answered again. */
  refuse(name: string) {
    this.#answers.delete(name);
    return this;
  }

  callsTo(name: string) {
    return this.calls.filter((c) => c.name === name);
  }

  query(doc: DocumentNode, variables: Record<string, unknown> = {}) {
    const name = operationName(doc);
    this.calls.push({ name, variables });
    const fn = this.#answers.get(name);
    const failure = this.#failures.get(name);
    if (failure) return { toPromise: async () => ({ data: undefined, error: failure }) };
    return {
      toPromise: async () => (fn ? { data: fn(variables) } : { data: undefined, error: new CombinedError({ graphQLErrors: [`no answer for ${name}`] }) }),
    };
  }

  mutation(doc: DocumentNode, variables: Record<string, unknown> = {}) {
    return this.query(doc, variables);
  }

  /** Operation name and variables of every subscription started, in order. */
  subscriptions: Array<{ name: string; variables: Record<string, unknown> }> = [];

  /** Each subscription opened and closed, in order: `open Name #n`, `close Name #n` (n counts from 1 per name). */
  log: string[] = [];

  subscription(doc: DocumentNode, variables: Record<string, unknown> = {}) {
    const name = operationName(doc);
    this.subscriptions.push({ name, variables });
    const n = this.subscriptionsTo(name).length;
    return {
      subscribe: (cb: (result: { data: unknown }) => void) => {
        this.#subscribers.set(cb, name);
        this.log.push(`open ${name} #${n}`);
        return {
          unsubscribe: () => {
            if (this.#subscribers.delete(cb)) this.log.push(`close ${name} #${n}`);
          },
        };
      },
    };
  }

  /** Variables of each subscription to one operation, in order. */
  subscriptionsTo(name: string) {
    return this.subscriptions.filter((s) => s.name === name).map((s) => s.variables);
  }

  /** Subscriptions still open, to one operation or to any. */
  subscriberCount(name?: string) {
    return [...this.#subscribers.values()].filter((n) => name === undefined || n === name).length;
  }

  /** Hands `data` to every open subscription whose operation is `name` (or to all). */
  emit(data: unknown, name?: string) {
    for (const [cb, n] of this.#subscribers) if (name === undefined || n === name) cb({ data });
  }

  /**
   * What urql hands over when the server sent an event it could not serialize, or ended
   * the stream with an error; to the open subscriptions to `name` (or to all).
   */
  emitError(message: string, name?: string) {
    for (const [cb, n] of this.#subscribers) if (name === undefined || n === name) (cb as (r: unknown) => void)({ data: undefined, error: new CombinedError({ graphQLErrors: [message] }) });
  }

  asClient(): Client {
    return this as unknown as Client;
  }
}

function operationName(doc: DocumentNode): string {
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
  return op?.name?.value ?? 'anonymous';
}
