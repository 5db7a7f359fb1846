import { graphql } from './gql/index.ts';

/**
 * Signing in with a one-time sign-in link. This is the gateway's own `RedeemSignInLink` (its
 * platform app `fleetgate`, schema/operations/tenant.graphql) written out again: the same document
 * has the same hash, so the client sends it by hash without naming an app and no publishing is
 * needed. A session opened while naming an app would be bound to that app, which is not wanted here.
 */
export const RedeemSignInLink = graphql(`
  mutation RedeemSignInLink($token: String!, $deviceLabel: String) {
    redeemSignInLink(token: $token, deviceLabel: $deviceLabel) {
      accessToken
      refreshToken
      session {
        id
        expiresAt
      }
    }
  }
`);

/** The web app's own operation: published as part of the app `web` and run by hash. */
export const Dashboard = graphql(`
  query Dashboard($first: Int!) {
    me {
      name
      role
    }
    tenant {
      name
      agentCount
    }
    agents(first: $first) {
      edges {
        node {
          id
          name
          status
        }
      }
    }
  }
`);
