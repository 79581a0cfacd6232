import type { TestGateway } from './gateway.ts';
import { success, type ResultUnion } from './graphql.ts';

export const TASK_FIELDS = `id model status prompt imageUrls sourceTask { id } resultUrls creditsCharged refunded
  errorMessage public createdAt updatedAt completedAt`;

export interface TaskView {
  id: string;
  model: string;
  status: 'SUBMITTING' | 'IN_PROGRESS' | 'SUCCESS' | 'FAILED';
  prompt: string | null;
  imageUrls: string[];
  sourceTask: { id: string } | null;
  resultUrls: string[];
  creditsCharged: number;
  refunded: boolean;
  errorMessage: string | null;
  public: boolean;
  completedAt: string | null;
}

export type GenerationResult = ResultUnion<TaskView> & { retryAfterSeconds?: number };

const MUTATION_INPUT: Record<string, string> = {
  textToImage: 'TextToImageInput',
  textToVideo: 'TextToVideoInput',
  imageToVideo: 'ImageToVideoInput',
  upscale: 'UpscaleInput',
};

/** Runs a generation mutation and returns its result union member. */
export async function generate(
  gw: TestGateway,
  key: string,
  mutation: 'textToImage' | 'textToVideo' | 'imageToVideo' | 'upscale',
  input: Record<string, unknown>,
): Promise<GenerationResult> {
  const res = await gw.gql<Record<string, GenerationResult>>(
    `mutation($input: ${MUTATION_INPUT[mutation]}!) { ${mutation}(input: $input) {
       __typename
       ... on Error { code message }
       ... on RateLimitedError { retryAfterSeconds }
       ... on ${`Mutation${mutation[0]!.toUpperCase()}${mutation.slice(1)}Success`} { data { ${TASK_FIELDS} } } } }`,
    { input },
    key,
  );
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data![mutation]!;
}

export async function generateOk(
  gw: TestGateway,
  key: string,
  mutation: 'textToImage' | 'textToVideo' | 'imageToVideo' | 'upscale',
  input: Record<string, unknown>,
): Promise<TaskView> {
  return success(await generate(gw, key, mutation, input));
}

export async function getTask(gw: TestGateway, key: string, id: string): Promise<TaskView | null> {
  const res = await gw.gql<{ task: TaskView | null }>(`query($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`, { id }, key);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data!.task;
}

/** Polls the gateway until the task ends (SUCCESS or FAILED). */
export async function waitForEnd(gw: TestGateway, key: string, id: string, timeoutMs = 20_000): Promise<TaskView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await getTask(gw, key, id);
    if (task && (task.status === 'SUCCESS' || task.status === 'FAILED')) return task;
    if (Date.now() > deadline) throw new Error(`task ${id} did not end: ${JSON.stringify(task)}`);
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
}

export async function balanceOf(gw: TestGateway, key: string): Promise<{ available: number; held: number }> {
  const res = await gw.gql<{ me: { balance: { available: number; held: number } } }>(`{ me { balance { available held } } }`, {}, key);
  return res.data!.me.balance;
}
