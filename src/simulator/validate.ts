// Shape validation of a /generate body, per model, with messages a developer
// can act on. Checks that need the task store (does input.task_id exist and
// succeed?) are the store's.
import {
  DEFAULT_MODEL,
  isModel,
  MAX_PROMPT_CHARS,
  type Model,
  MODELS,
  promptChars,
  RULES,
  type WireInput,
} from './contract.ts';
import { isPlainObject } from './http-io.ts';

export interface GenerateRequest {
  model: Model;
  input: WireInput;
  callbackUrl?: string;
  public: boolean;
}

export type Validated = { ok: true; value: GenerateRequest } | { ok: false; message: string };

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function fail(message: string): Validated {
  return { ok: false, message };
}

export function validateGenerate(body: unknown): Validated {
  if (!isPlainObject(body)) return fail('request body must be a JSON object');
  const model = body.model ?? DEFAULT_MODEL;
  if (!isModel(model)) {
    return fail(`model must be one of ${MODELS.join(', ')}; got ${JSON.stringify(model)}`);
  }
  const rawInput = body.input;
  if (!isPlainObject(rawInput)) return fail('input is required and must be an object');

  const input: WireInput = {};
  if (rawInput.prompt !== undefined && rawInput.prompt !== null) {
    if (typeof rawInput.prompt !== 'string') return fail('input.prompt must be a string');
    const length = promptChars(rawInput.prompt);
    if (length > MAX_PROMPT_CHARS) {
      return fail(`input.prompt is ${length} characters; at most ${MAX_PROMPT_CHARS} are allowed`);
    }
    input.prompt = rawInput.prompt;
  }
  if (rawInput.image_urls !== undefined && rawInput.image_urls !== null) {
    const urls = rawInput.image_urls;
    if (!Array.isArray(urls)) return fail('input.image_urls must be an array of URL strings');
    for (const [i, url] of urls.entries()) {
      if (typeof url !== 'string' || !isHttpUrl(url)) return fail(`input.image_urls[${i}] must be an http(s) URL`);
    }
    if (urls.length > 0) input.image_urls = urls as string[];
  }
  if (rawInput.task_id !== undefined && rawInput.task_id !== null) {
    if (typeof rawInput.task_id !== 'string' || rawInput.task_id.trim() === '') {
      return fail('input.task_id must be a non-empty string');
    }
    input.task_id = rawInput.task_id;
  }

  const rules = RULES[model];
  if (rules.needsPrompt && (input.prompt === undefined || input.prompt.trim() === '')) {
    return fail(`input.prompt is required for ${model}`);
  }
  if (rules.needsImageSource && input.image_urls === undefined && input.task_id === undefined) {
    return fail(`input.image_urls or input.task_id is required for ${model}`);
  }
  if (rules.needsTaskId && input.task_id === undefined) {
    return fail(`input.task_id is required for ${model}`);
  }

  const request: GenerateRequest = { model, input, public: false };
  if (body.callback_url !== undefined && body.callback_url !== null) {
    if (typeof body.callback_url !== 'string' || !isHttpUrl(body.callback_url)) {
      return fail('callback_url must be an absolute http(s) URL');
    }
    request.callbackUrl = body.callback_url;
  }
  if (body.public !== undefined && body.public !== null) {
    if (typeof body.public !== 'boolean') return fail('public must be a boolean');
    request.public = body.public;
  }
  return { ok: true, value: request };
}
