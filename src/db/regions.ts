import type { MikroORM } from '@mikro-orm/postgresql';
import { type Principal, tenantOf } from '../auth/principal.ts';
import { isUuid } from '../shared/ids.ts';
import { forkForTenant } from './request-scope.ts';

/** The region of a gateway configured with one database (the tenants table's original default). */
export const DEFAULT_REGION = 'eu-1';
/** What a region name looks like (the tenants table checks the same, migrations/0001_data_plane.sql). */
export const REGION_NAME = /^[a-z]{2}-[0-9]$/;

/**
 * What a region holds that this floor does not know of: the modules that own those members add them
 * by declaration merging (src/modules/provisioning/container-runtime.ts adds the container `engine`),
 * so the database floor imports nothing from the modules.
 */
// biome-ignore lint/suspicious/noEmptyInterface: its members are declared by the modules that own them.
export interface RegionServices {}

/** What the gateway holds in one region: its database and where its tenants' archives and agents live. */
export interface Region extends Partial<RegionServices> {
  name: string;
  /** The app role's connection to the region's database. */
  appUrl: string;
  /** The ORM on that connection. */
  orm: MikroORM;
  /** Where this region's tenant backup archives are written (absent: backups are refused). */
  backupDir?: string;
}

/**
 * The gateway's databases, one per region (issue 8, data residency). A tenant lives entirely in
 * its region's database: its tenants row, its rows in the shared tables or its own schema, its jobs
 * and its audit chain (tenants_region_pin, migrations/functions/regions.sql, pins each tenant row to its database's region).
 * Routing a tenant is finding that database: the first time this replica meets the tenant it asks
 * every region, under the tenant's own RLS setting, whether the tenant is there, and remembers the
 * answer; a tenant never changes region, so the answer never goes stale. With one region there is
 * nothing to find and nothing is asked.
 */
export class Regions {
  readonly home: Region;
  readonly #byName: Map<string, Region>;
  readonly #located = new Map<string, Region>();

  /** `home` serves anonymous and operator requests and is where tenants are created when no region is named. */
  constructor(
    readonly all: readonly Region[],
    homeName: string,
  ) {
    this.#byName = new Map(all.map((region) => [region.name, region]));
    const home = this.#byName.get(homeName);
    if (!home || this.#byName.size !== all.length) throw new Error(`regions: ${homeName} must be one of distinct regions`);
    this.home = home;
  }

  /** A configured region by name; undefined for any other name (the caller answers with the list). */
  named(name: string): Region | undefined {
    return this.#byName.get(name);
  }

  get names(): string[] {
    return [...this.#byName.keys()];
  }

  /**
   * The region holding the tenant, or undefined when none does. Fails closed, with an error, when
   * more than one region holds it: a tenant copied into a second region is never served from either.
   */
  async locate(tenantId: string): Promise<Region | undefined> {
    if (this.all.length === 1) return this.home;
    if (!isUuid(tenantId)) return undefined;
    const known = this.#located.get(tenantId);
    if (known) return known;
    const holders = (
      await Promise.all(this.all.map(async (region) => ((await holdsTenant(region.orm, tenantId)) ? region : undefined)))
    ).filter((region) => region !== undefined);
    if (holders.length > 1)
      throw new Error(`tenant ${tenantId} is stored in more than one region (${holders.map((r) => r.name).join(', ')})`);
    if (holders[0]) this.#located.set(tenantId, holders[0]);
    return holders[0];
  }

  /** The region a request runs in: its tenant's, or home for principals without one (anonymous, operators). */
  async of(principal: Principal): Promise<Region | undefined> {
    const tenantId = tenantOf(principal);
    return tenantId ? this.locate(tenantId) : this.home;
  }
}

/** Whether the region's database holds the tenant's row, asked under that tenant's RLS setting (its own row only). */
async function holdsTenant(orm: MikroORM, tenantId: string): Promise<boolean> {
  const rows = await forkForTenant(orm, tenantId).transactional((em) => em.execute('select 1 from tenants where id = ?', [tenantId]));
  return rows.length > 0;
}
