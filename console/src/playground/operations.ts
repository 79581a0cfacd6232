// The playground's operations. Every generation mutation selects the same
// task fields (the ConsoleTask fragment) and the same refusals (ConsoleRefusal:
// every error's code and message, and the fields of those that carry more).
import { graphql } from '../gql/index.ts';

export const TaskFields = graphql(`
  fragment ConsoleTask on Task {
    id
    model
    status
    prompt
    resultUrls
    creditsCharged
    refunded
    errorMessage
    createdAt
    completedAt
  }
`);

export const RefusalFields = graphql(`
  fragment ConsoleRefusal on Error {
    code
    message
    ... on InsufficientCreditsError {
      required
      available
    }
    ... on RateLimitedError {
      retryAfterSeconds
    }
    ... on KeyLimitExceededError {
      limit
      period
      remaining
    }
  }
`);

export const MeQuery = graphql(`
  query ConsoleMe {
    me {
      id
      name
      status
      balance {
        available
        held
        low
      }
    }
  }
`);

export const MyBalance = graphql(`
  subscription ConsoleMyBalance {
    balanceChanged {
      available
      held
      low
    }
  }
`);

export const QuoteQuery = graphql(`
  query ConsoleQuote($model: GenerationModel!) {
    quote(input: { model: $model }) {
      model
      credits
      available
      affordable
    }
  }
`);

export const RecentTasks = graphql(`
  query ConsoleRecentTasks {
    tasks(first: 20) {
      edges {
        node {
          ...ConsoleTask
        }
      }
    }
  }
`);

export const TaskUpdated = graphql(`
  subscription ConsoleTaskUpdated($id: ID!) {
    taskUpdated(id: $id) {
      ...ConsoleTask
    }
  }
`);

export const TextToImage = graphql(`
  mutation ConsoleTextToImage($input: TextToImageInput!) {
    textToImage(input: $input) {
      __typename
      ...ConsoleRefusal
      ... on MutationTextToImageSuccess {
        data {
          ...ConsoleTask
        }
      }
    }
  }
`);

export const TextToVideo = graphql(`
  mutation ConsoleTextToVideo($input: TextToVideoInput!) {
    textToVideo(input: $input) {
      __typename
      ...ConsoleRefusal
      ... on MutationTextToVideoSuccess {
        data {
          ...ConsoleTask
        }
      }
    }
  }
`);

export const ImageToVideo = graphql(`
  mutation ConsoleImageToVideo($input: ImageToVideoInput!) {
    imageToVideo(input: $input) {
      __typename
      ...ConsoleRefusal
      ... on MutationImageToVideoSuccess {
        data {
          ...ConsoleTask
        }
      }
    }
  }
`);

export const Upscale = graphql(`
  mutation ConsoleUpscale($input: UpscaleInput!) {
    upscale(input: $input) {
      __typename
      ...ConsoleRefusal
      ... on MutationUpscaleSuccess {
        data {
          ...ConsoleTask
        }
      }
    }
  }
`);
