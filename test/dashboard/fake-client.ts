import type { Client } from '@urql/core';
import type { DocumentNode, OperationDefinitionNode } from 'graphql';

type Answer = (variables: Record<string, unknown>) => unknown;

/**
 * Stands in for the urql client at the component boundary: answers queries by operation
 * name and lets a test push subscription events. The app only calls query().toPromise()
 * and subscription().subscribe(), which is all this implements.
 */
export class FakeClient {
  calls: Array<{ name: string; variables: Record<string, unknown> }> = [];
  #answers = new Map<string, Answer>();
  #subscribers = new Set<(result: { data: unknown }) => void>();

  answer(name: string, fn: Answer) {
    this.#answers.set(name, fn);
    return this;
  }

  callsTo(name: string) {
    return this.calls.filter((c) => c.name === name);
  }

  query(doc: DocumentNode, variables: Record<string, unknown> = {}) {
    const name = operationName(doc);
    this.calls.push({ name, variables });
    const fn = this.#answers.get(name);
    return {
      toPromise: async () => (fn ? { data: fn(variables) } : { data: undefined, error: new Error(`no answer for ${name}`) }),
    };
  }

  mutation(doc: DocumentNode, variables: Record<string, unknown> = {}) {
    return this.query(doc, variables);
  }

  /** Variables of every subscription started, in order. */
  subscriptions: Array<Record<string, unknown>> = [];

  subscription(_doc: DocumentNode, variables: Record<string, unknown> = {}) {
    this.subscriptions.push(variables);
    return {
      subscribe: (cb: (result: { data: unknown }) => void) => {
        this.#subscribers.add(cb);
        return { unsubscribe: () => this.#subscribers.delete(cb) };
      },
    };
  }

  get subscriberCount() {
    return this.#subscribers.size;
  }

  emit(data: unknown) {
    for (const cb of this.#subscribers) cb({ data });
  }

  /** What urql hands over when the server sent an event it could not serialize. */
  emitError(message: string) {
    for (const cb of this.#subscribers) (cb as (r: unknown) => void)({ data: undefined, error: new Error(message) });
  }

  asClient(): Client {
    return this as unknown as Client;
  }
}

function operationName(doc: DocumentNode): string {
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition');
  return op?.name?.value ?? 'anonymous';
}
