import type { Client } from '@urql/core';
import { describeError } from './errors';
import { ChannelsQuery, type Channel, type Policy } from './notification-documents';

/**
 * The notification channels and the policies that route alerts to them, read together
 * (each page names the other's entries) and read again after every change.
 */
export class Routing {
  channels = $state<Channel[]>([]);
  policies = $state<Policy[]>([]);
  /** The outcome of the last change, or why the last read failed. */
  message = $state<string | null>(null);

  constructor(private readonly client: Client) {
    void this.load();
  }

  async load() {
    const r = await this.client.query(ChannelsQuery, {}, { requestPolicy: 'network-only' }).toPromise();
    if (r.data) {
      this.channels = r.data.notificationChannels;
      this.policies = r.data.notificationPolicies;
    } else if (r.error) this.message = describeError(r.error).message;
  }

  /** Reads both lists again, then says what the change did: the status never runs ahead of the lists. */
  async changed(text: string) {
    await this.load();
    this.message = text;
  }
}
