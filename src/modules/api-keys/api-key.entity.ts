import { defineEntity, p } from '@mikro-orm/core';
import type { ApiKeyScope } from '../../auth/principal.ts';
import { tenantFilter } from '../../db/tenant-filter.ts';

const ApiKeySchema = defineEntity({
  name: 'ApiKey',
  tableName: 'api_keys',
  filters: tenantFilter,
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    name: p.string(),
    /** SHA-256 of the key's secret. Never exposed through the API. */
    secretHash: p.blob().lazy(),
    scopes: p.array<ApiKeyScope>(),
    createdBy: p.uuid(),
    createdAt: p.datetime().onCreate(() => new Date()),
    revokedAt: p.datetime().nullable(),
    /** The client app the key is bound to (migrations/0032): it runs only that app's published documents. */
    clientApp: p.string().nullable(),
  },
});

export class ApiKey extends ApiKeySchema.class {}
ApiKeySchema.setClass(ApiKey);
