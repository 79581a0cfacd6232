// Every operation of the example, written with the client preset's graphql():
// codegen.ts checks each against schema.graphql and types its result and variables.
import { graphql } from './gql/index.ts';

// Admin (the ADMIN_TOKEN)
export const CreateTenant = graphql(`
  mutation CreateTenant($name: String!) {
    createTenant(input: { name: $name }) {
      __typename
      ... on MutationCreateTenantSuccess { data { id name } }
      ... on ValidationError { code message field }
    }
  }
`);

export const TopUpCredits = graphql(`
  mutation TopUpCredits($tenantId: ID!, $amount: Int!, $idempotencyKey: String!) {
    topUpCredits(input: { tenantId: $tenantId, amount: $amount, idempotencyKey: $idempotencyKey }) {
      __typename
      ... on MutationTopUpCreditsSuccess { data { id amount } }
      ... on ValidationError { code message field }
      ... on NotFoundError { code message }
      ... on IdempotencyConflictError { code message }
    }
  }
`);

export const IssueApiKey = graphql(`
  mutation IssueApiKey($tenantId: ID!, $name: String) {
    issueApiKey(input: { tenantId: $tenantId, name: $name }) {
      __typename
      ... on MutationIssueApiKeySuccess { data { secret apiKey { id } } }
      ... on ValidationError { code message field }
      ... on NotFoundError { code message }
    }
  }
`);

// Tenant (an API key)
export const Me = graphql(`
  query Me {
    me { id name balance { available held } }
  }
`);

export const TextToImage = graphql(`
  mutation TextToImage($prompt: String!, $idempotencyKey: String) {
    textToImage(input: { prompt: $prompt, idempotencyKey: $idempotencyKey }) {
      __typename
      ... on MutationTextToImageSuccess { data { id status creditsCharged } }
      ... on ValidationError { code message field }
      ... on InsufficientCreditsError { code message required available }
      ... on IdempotencyConflictError { code message }
      ... on RateLimitedError { code message retryAfterSeconds }
      ... on UpstreamUnavailableError { code message }
      ... on TenantSuspendedError { code message }
      ... on KeyLimitExceededError { code message limit period remaining }
    }
  }
`);

export const GetTask = graphql(`
  query GetTask($id: ID!) {
    task(id: $id) { id status resultUrls creditsCharged refunded errorMessage }
  }
`);

// Live status, over graphql-ws
export const TaskUpdated = graphql(`
  subscription TaskUpdated($id: ID!) {
    taskUpdated(id: $id) { id status resultUrls }
  }
`);
