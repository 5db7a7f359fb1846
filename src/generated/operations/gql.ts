/* eslint-disable */
import * as types from './graphql.js';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "query ListAgents($first: Int, $after: String) {\n  agents(first: $first, after: $after) {\n    edges {\n      node {\n        id\n        name\n        description\n        image\n        status\n        config\n        createdAt\n        updatedAt\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery GetAgent($id: ID!) {\n  agent(id: $id) {\n    id\n    name\n    description\n    image\n    status\n    config\n    createdAt\n    updatedAt\n  }\n}\n\nmutation CreateAgentRecord($input: CreateAgentInput!) {\n  createAgent(input: $input) {\n    agent {\n      id\n      name\n      status\n    }\n  }\n}\n\nmutation UpdateAgentRecord($input: UpdateAgentInput!) {\n  updateAgent(input: $input) {\n    agent {\n      id\n      name\n      description\n      image\n      config\n    }\n  }\n}\n\nmutation DeleteAgentRecord($id: ID!) {\n  deleteAgent(id: $id) {\n    deletedAgentId\n  }\n}": typeof types.ListAgentsDocument,
};
const documents: Documents = {
    "query ListAgents($first: Int, $after: String) {\n  agents(first: $first, after: $after) {\n    edges {\n      node {\n        id\n        name\n        description\n        image\n        status\n        config\n        createdAt\n        updatedAt\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery GetAgent($id: ID!) {\n  agent(id: $id) {\n    id\n    name\n    description\n    image\n    status\n    config\n    createdAt\n    updatedAt\n  }\n}\n\nmutation CreateAgentRecord($input: CreateAgentInput!) {\n  createAgent(input: $input) {\n    agent {\n      id\n      name\n      status\n    }\n  }\n}\n\nmutation UpdateAgentRecord($input: UpdateAgentInput!) {\n  updateAgent(input: $input) {\n    agent {\n      id\n      name\n      description\n      image\n      config\n    }\n  }\n}\n\nmutation DeleteAgentRecord($id: ID!) {\n  deleteAgent(id: $id) {\n    deletedAgentId\n  }\n}": types.ListAgentsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query ListAgents($first: Int, $after: String) {\n  agents(first: $first, after: $after) {\n    edges {\n      node {\n        id\n        name\n        description\n        image\n        status\n        config\n        createdAt\n        updatedAt\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery GetAgent($id: ID!) {\n  agent(id: $id) {\n    id\n    name\n    description\n    image\n    status\n    config\n    createdAt\n    updatedAt\n  }\n}\n\nmutation CreateAgentRecord($input: CreateAgentInput!) {\n  createAgent(input: $input) {\n    agent {\n      id\n      name\n      status\n    }\n  }\n}\n\nmutation UpdateAgentRecord($input: UpdateAgentInput!) {\n  updateAgent(input: $input) {\n    agent {\n      id\n      name\n      description\n      image\n      config\n    }\n  }\n}\n\nmutation DeleteAgentRecord($id: ID!) {\n  deleteAgent(id: $id) {\n    deletedAgentId\n  }\n}"): (typeof documents)["query ListAgents($first: Int, $after: String) {\n  agents(first: $first, after: $after) {\n    edges {\n      node {\n        id\n        name\n        description\n        image\n        status\n        config\n        createdAt\n        updatedAt\n      }\n    }\n    pageInfo {\n      hasNextPage\n      endCursor\n    }\n  }\n}\n\nquery GetAgent($id: ID!) {\n  agent(id: $id) {\n    id\n    name\n    description\n    image\n    status\n    config\n    createdAt\n    updatedAt\n  }\n}\n\nmutation CreateAgentRecord($input: CreateAgentInput!) {\n  createAgent(input: $input) {\n    agent {\n      id\n      name\n      status\n    }\n  }\n}\n\nmutation UpdateAgentRecord($input: UpdateAgentInput!) {\n  updateAgent(input: $input) {\n    agent {\n      id\n      name\n      description\n      image\n      config\n    }\n  }\n}\n\nmutation DeleteAgentRecord($id: ID!) {\n  deleteAgent(id: $id) {\n    deletedAgentId\n  }\n}"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;