import { builder } from '../../builder.ts';
import { listClientApps, publishDocuments, retireDocumentsVersion } from './client-app.service.ts';
import type { ClientAppRow, ClientAppVersionRow } from './client-app.store.ts';

const ClientAppVersionRef = builder.objectRef<ClientAppVersionRow>('ClientAppVersion').implement({
  description: 'One published manifest of a client app. A retired version’s documents no longer run.',
  fields: (t) => ({
    version: t.exposeString('version'),
    documentCount: t.exposeInt('documentCount', { description: 'How many operations this version publishes.' }),
    publishedAt: t.expose('publishedAt', { type: 'DateTime' }),
    retiredAt: t.expose('retiredAt', { type: 'DateTime', nullable: true }),
  }),
});

const ClientAppRef = builder.objectRef<ClientAppRow>('ClientApp').implement({
  description:
    'A client app: the operations (trusted documents) it may run, by version. Requests name it with the `x-graphql-client-name` header.',
  fields: (t) => ({
    name: t.exposeString('name'),
    platform: t.exposeBoolean('platform', { description: 'A platform app (published by operators, run by every tenant).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    versions: t.field({ type: [ClientAppVersionRef], resolve: (app) => app.versions, description: 'Newest first.' }),
  }),
});

builder.queryField('clientApps', (t) =>
  t.field({
    type: [ClientAppRef],
    description: 'The tenant’s client apps (owners and admins), or with `platform: true` the platform’s (operators).',
    args: { platform: t.arg.boolean({ required: false, description: 'The platform’s apps (operators) rather than the tenant’s own.' }) },
    skipTypeScopes: true,
    authScopes: (_root, args) => ({ can: args.platform ? 'platform.documents.manage' : 'documents.read' }),
    resolve: (_root, args, ctx) => listClientApps(ctx, args.platform),
  }),
);

const PublishDocumentsInput = builder.inputType('PublishDocumentsInput', {
  fields: (t) => ({
    app: t.string({ required: true, description: 'The app’s name: lower-case letters, digits, ".", "_" or "-".' }),
    version: t.string({ required: true }),
    documents: t.field({
      type: 'JSONObject',
      required: true,
      description: 'The client preset’s persisted-documents output: {"sha256:<hex>": "<document>"}.',
    }),
    platform: t.boolean({ required: false, description: 'Publish a platform app (operators).' }),
  }),
});

const RetireDocumentsVersionInput = builder.inputType('RetireDocumentsVersionInput', {
  fields: (t) => ({
    app: t.string({ required: true }),
    version: t.string({ required: true }),
    platform: t.boolean({ required: false, description: 'Retire a platform app’s version (operators).' }),
  }),
});

const ClientAppPayload = builder.objectRef<{ app: ClientAppRow }>('ClientAppPayload').implement({
  fields: (t) => ({ app: t.expose('app', { type: ClientAppRef }) }),
});

builder.mutationFields((t) => ({
  publishDocuments: t.field({
    type: ClientAppPayload,
    description:
      'Publishes a manifest as a new version of a client app. All or nothing: every document must match its hash and pass the schema and the gateway’s limits.',
    args: { input: t.arg({ type: PublishDocumentsInput, required: true }) },
    skipTypeScopes: true,
    authScopes: (_root, { input }) => ({ can: input.platform ? 'platform.documents.manage' : 'documents.publish' }),
    resolve: async (_root, { input }, ctx, info) => ({
      app: await publishDocuments(ctx, input, { schema: info.schema, cost: ctx.documentCost }),
    }),
  }),
  retireDocumentsVersion: t.field({
    type: ClientAppPayload,
    description: 'Retires a version: its documents stop running on every replica within a second.',
    args: { input: t.arg({ type: RetireDocumentsVersionInput, required: true }) },
    skipTypeScopes: true,
    authScopes: (_root, { input }) => ({ can: input.platform ? 'platform.documents.manage' : 'documents.publish' }),
    resolve: async (_root, { input }, ctx) => ({ app: await retireDocumentsVersion(ctx, input) }),
  }),
}));
