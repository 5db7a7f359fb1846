import { builder } from '../../builder.ts';
import { keysetConnection } from '../common/index.ts';
import { ApiKey } from './api-key.entity.ts';
import { API_KEY_SCOPES, createApiKey, listApiKeys, loadApiKeys, revokeApiKey } from './api-key.service.ts';

const ApiKeyScope = builder.enumType('ApiKeyScope', { values: API_KEY_SCOPES });

/** Metadata of an integrator key. The key itself is only ever in createApiKey's payload. */
export const ApiKeyRef = builder.node(ApiKey, {
  name: 'ApiKey',
  id: { resolve: (key) => key.id },
  authScopes: (key) => ({ $all: { can: 'apiKey.read', sameTenant: key.tenantId } }),
  loadMany: (ids, ctx) => loadApiKeys(ctx, ids),
  fields: (t) => ({
    name: t.exposeString('name'),
    scopes: t.field({ type: [ApiKeyScope], resolve: (key) => key.scopes }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
    clientApp: t.exposeString('clientApp', {
      nullable: true,
      description: 'The client app the key is bound to: it runs only that app’s published documents. Null: not bound.',
    }),
  }),
});

builder.queryField('apiKeys', (t) =>
  t.connection({
    type: ApiKeyRef,
    skipTypeScopes: true,
    authScopes: { can: 'apiKey.read' },
    resolve: (_root, args, ctx) => keysetConnection(args, (page) => listApiKeys(ctx, page)),
  }),
);

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    scopes: t.field({ type: [ApiKeyScope], required: true }),
    clientApp: t.string({
      required: false,
      description: 'Bind the key to this client app: it may then run only that app’s published documents.',
    }),
  }),
});

const CreateApiKeyPayload = builder.objectRef<{ apiKey: ApiKey; key: string }>('CreateApiKeyPayload').implement({
  fields: (t) => ({
    apiKey: t.expose('apiKey', { type: ApiKeyRef }),
    key: t.exposeString('key', { description: 'The API key. Shown once; only its hash is stored.' }),
  }),
});

const RevokeApiKeyPayload = builder.objectRef<{ apiKey: ApiKey }>('RevokeApiKeyPayload').implement({
  fields: (t) => ({ apiKey: t.expose('apiKey', { type: ApiKeyRef }) }),
});

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreateApiKeyPayload,
    skipTypeScopes: true,
    authScopes: { can: 'apiKey.manage' },
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const { apiKey, key } = await createApiKey(ctx, input);
      return { apiKey, key: key.reveal() };
    },
  }),
  revokeApiKey: t.field({
    type: RevokeApiKeyPayload,
    skipTypeScopes: true,
    authScopes: { can: 'apiKey.manage' },
    args: { id: t.arg.globalID({ required: true, for: ApiKeyRef }) },
    resolve: async (_root, { id }, ctx) => ({ apiKey: await revokeApiKey(ctx, id.id) }),
  }),
}));
