import type { Client } from '@urql/core';
import { FleetGroupsQuery } from './fleet-documents';
import { describeError } from './errors';
import { groupByInput, type FleetGroup, type GroupBy } from './fleet-groups';
import { toAgentFilter, type FleetQuery } from './fleet-query';
import { settler } from './settle';

/** After a burst of fleet events the group counts are re-asked, at most about once per this. */
export const GROUPS_REFRESH_MS = 1000;

/**
 * The status counts per group of one view, from agentGroups. Live events (which the page's
 * fleet feed already receives) only poke it: one re-read per burst, so the counts follow
 * status changes, tag changes and registrations alike, at one small query a second at most.
 */
export class GroupsState {
  groups = $state.raw<FleetGroup[]>([]);
  /** The grouping `groups` were read for (null before the first answer). */
  by = $state.raw<GroupBy | null>(null);
  loading = $state(false);
  error = $state<string | null>(null);

  #client: Client;
  #query: FleetQuery | null = null;
  #loadId = 0;
  #refresh = settler(() => this.#read(), GROUPS_REFRESH_MS);

  constructor(client: Client) {
    this.#client = client;
  }

  async load(query: FleetQuery) {
    this.#query = query;
    this.#refresh.cancel();
    this.loading = true;
    await this.#read();
    this.loading = false;
  }

  /** Something changed in the fleet: re-read the counts soon. */
  poke() {
    if (this.#query?.group) this.#refresh.poke();
  }

  stop() {
    this.#refresh.cancel();
    this.#loadId++;
  }

  async #read() {
    const query = this.#query;
    if (!query?.group) return;
    const id = ++this.#loadId;
    // The status pick is left out: the counts show every status, so each one can serve as a filter.
    const result = await this.#client
      .query(FleetGroupsQuery, { by: groupByInput(query.group), filter: toAgentFilter(query, { withStatus: false }) })
      .toPromise();
    if (id !== this.#loadId) return;
    if (result.error || !result.data) {
      this.error = result.error ? describeError(result.error).message : 'No data';
      return;
    }
    this.error = null;
    this.by = query.group;
    this.groups = result.data.agentGroups;
  }
}
