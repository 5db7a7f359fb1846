/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type AgentStatus =
  | 'CREATED'
  | 'DELETING'
  | 'FAILED'
  | 'PROVISIONING'
  | 'RUNNING'
  | 'STOPPED';

export type CreateAgentInput = {
  /** One of the allow-listed commands for the image; omitted: the image's default. */
  command?: Array<string> | null | undefined;
  config?: unknown;
  /** CPU limit, thousandths of a CPU (default 250). */
  cpuMillis?: number | null | undefined;
  description?: string | null | undefined;
  /** Owners and admins: join the tenant's own network (default: no network). */
  egress?: boolean | null | undefined;
  image: string;
  /** Memory limit, MB (default 64). */
  memoryMb?: number | null | undefined;
  name: string;
  /** Default: the tenant's plan level, else RUNC. */
  sandbox?: SandboxLevel | null | undefined;
};

/** RUNC: a hardened container on the host kernel. GVISOR: the same container under gVisor, a user-space kernel (no network). See docs/security-model.md. */
export type SandboxLevel =
  | 'GVISOR'
  | 'RUNC';

export type UpdateAgentInput = {
  command?: Array<string> | null | undefined;
  config?: unknown;
  cpuMillis?: number | null | undefined;
  description?: string | null | undefined;
  /** Owners and admins; a running agent is recreated on its new network at once. */
  egress?: boolean | null | undefined;
  id: string | number;
  image?: string | null | undefined;
  memoryMb?: number | null | undefined;
  name?: string | null | undefined;
  /** Applies from the next restartAgent. */
  sandbox?: SandboxLevel | null | undefined;
};

export type ListAgentsQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type ListAgentsQuery = { agents: { edges: Array<{ node: { id: string, name: string, description: string, image: string, status: AgentStatus, config: unknown, createdAt: unknown, updatedAt: unknown } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type GetAgentQueryVariables = Exact<{
  id: string | number;
}>;


export type GetAgentQuery = { agent: { id: string, name: string, description: string, image: string, status: AgentStatus, config: unknown, createdAt: unknown, updatedAt: unknown } };

export type CreateAgentRecordMutationVariables = Exact<{
  input: CreateAgentInput;
}>;


export type CreateAgentRecordMutation = { createAgent: { agent: { id: string, name: string, status: AgentStatus } } };

export type UpdateAgentRecordMutationVariables = Exact<{
  input: UpdateAgentInput;
}>;


export type UpdateAgentRecordMutation = { updateAgent: { agent: { id: string, name: string, description: string, image: string, config: unknown } } };

export type DeleteAgentRecordMutationVariables = Exact<{
  id: string | number;
}>;


export type DeleteAgentRecordMutation = { deleteAgent: { deletedAgentId: string } };


export const ListAgentsDocument = {"__meta__":{"hash":"sha256:99bd1faaa2be1d80a04815a4db49bac20fc03b8b0ecd1736477cbc762f4d9a67"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"ListAgents"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"first"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"Int"}}},{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"after"}},"type":{"kind":"NamedType","name":{"kind":"Name","value":"String"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"agents"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"first"},"value":{"kind":"Variable","name":{"kind":"Name","value":"first"}}},{"kind":"Argument","name":{"kind":"Name","value":"after"},"value":{"kind":"Variable","name":{"kind":"Name","value":"after"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"edges"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"node"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"image"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"config"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]}},{"kind":"Field","name":{"kind":"Name","value":"pageInfo"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"hasNextPage"}},{"kind":"Field","name":{"kind":"Name","value":"endCursor"}}]}}]}}]}}]} as unknown as DocumentNode<ListAgentsQuery, ListAgentsQueryVariables>;
export const GetAgentDocument = {"__meta__":{"hash":"sha256:1a9b0c117cb628d381839a50889839c3d836aff0daf869eb998fb1b4fad90285"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"query","name":{"kind":"Name","value":"GetAgent"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"agent"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"image"}},{"kind":"Field","name":{"kind":"Name","value":"status"}},{"kind":"Field","name":{"kind":"Name","value":"config"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}},{"kind":"Field","name":{"kind":"Name","value":"updatedAt"}}]}}]}}]} as unknown as DocumentNode<GetAgentQuery, GetAgentQueryVariables>;
export const CreateAgentRecordDocument = {"__meta__":{"hash":"sha256:5c6c08b1c709e37846782e46ab3a65db8a547e9313cced5b4b5144c45f483128"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"CreateAgentRecord"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateAgentInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createAgent"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"agent"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"status"}}]}}]}}]}}]} as unknown as DocumentNode<CreateAgentRecordMutation, CreateAgentRecordMutationVariables>;
export const UpdateAgentRecordDocument = {"__meta__":{"hash":"sha256:c16e9cee5beb9ca6943a5baa6e1212045a6d05f9634185ca34d8239efe188a69"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"UpdateAgentRecord"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"UpdateAgentInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"updateAgent"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"agent"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"id"}},{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"description"}},{"kind":"Field","name":{"kind":"Name","value":"image"}},{"kind":"Field","name":{"kind":"Name","value":"config"}}]}}]}}]}}]} as unknown as DocumentNode<UpdateAgentRecordMutation, UpdateAgentRecordMutationVariables>;
export const DeleteAgentRecordDocument = {"__meta__":{"hash":"sha256:fc896d43a4fd471dbe42a65f7c812739323d6205f81cce3658772ab41e035b45"},"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"DeleteAgentRecord"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"id"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"ID"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deleteAgent"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"id"},"value":{"kind":"Variable","name":{"kind":"Name","value":"id"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"deletedAgentId"}}]}}]}}]} as unknown as DocumentNode<DeleteAgentRecordMutation, DeleteAgentRecordMutationVariables>;