import { useState, type FormEvent } from 'react';
import { useMutation, useQuery } from 'urql';
import { ErrorBox, unwrap, type ShownError } from '../errors.tsx';
import { modelLabel } from '../format.ts';
import type { ConsoleTaskFragment, GenerationModel } from '../gql/graphql.ts';
import { newIdempotencyKey } from '../session.ts';
import { ImageToVideo, QuoteQuery, TextToImage, TextToVideo, Upscale } from './operations.ts';

const MODELS: { model: GenerationModel; prompt: 'required' | 'optional' | 'none'; source: boolean }[] = [
  { model: 'TEXT_TO_IMAGE', prompt: 'required', source: false },
  { model: 'TEXT_TO_VIDEO', prompt: 'required', source: false },
  { model: 'IMAGE_TO_VIDEO', prompt: 'optional', source: true },
  { model: 'UPSCALE', prompt: 'none', source: true },
];

/** Sources a model may start from: image results for image-to-video, any result for upscale. */
function sourcesFor(model: GenerationModel, earlier: ConsoleTaskFragment[]): ConsoleTaskFragment[] {
  const done = earlier.filter((t) => t.status === 'SUCCESS');
  return model === 'IMAGE_TO_VIDEO' ? done.filter((t) => t.model === 'TEXT_TO_IMAGE' || t.model === 'UPSCALE') : done;
}

export function GenerateForm(props: { available: number; earlier: ConsoleTaskFragment[]; onSubmitted(task: ConsoleTaskFragment): void }) {
  const [model, setModel] = useState<GenerationModel>('TEXT_TO_IMAGE');
  const [prompt, setPrompt] = useState('');
  const [sourceTaskId, setSourceTaskId] = useState('');
  const [problem, setProblem] = useState<ShownError | null>(null);
  const spec = MODELS.find((m) => m.model === model)!;
  const [quote] = useQuery({ query: QuoteQuery, variables: { model } });
  const [t2i, textToImage] = useMutation(TextToImage);
  const [t2v, textToVideo] = useMutation(TextToVideo);
  const [i2v, imageToVideo] = useMutation(ImageToVideo);
  const [up, upscale] = useMutation(Upscale);
  const busy = t2i.fetching || t2v.fetching || i2v.fetching || up.fetching;
  const transportError = t2i.error ?? t2v.error ?? i2v.error ?? up.error;
  const price = quote.data?.quote.credits;
  const sources = sourcesFor(model, props.earlier);
  const earlierPrompts = [...new Set(props.earlier.map((t) => t.prompt).filter((p): p is string => !!p))];
  const ready = (spec.prompt !== 'required' || prompt.trim() !== '') && (!spec.source || sourceTaskId !== '');

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    // A fresh key per submission; a retry after a lost answer would reuse it.
    const idempotencyKey = newIdempotencyKey();
    const text = prompt.trim();
    const result =
      model === 'TEXT_TO_IMAGE'
        ? unwrap((await textToImage({ input: { prompt: text, idempotencyKey } })).data?.textToImage)
        : model === 'TEXT_TO_VIDEO'
          ? unwrap((await textToVideo({ input: { prompt: text, idempotencyKey } })).data?.textToVideo)
          : model === 'IMAGE_TO_VIDEO'
            ? unwrap((await imageToVideo({ input: { sourceTaskId, idempotencyKey, ...(text ? { prompt: text } : {}) } })).data?.imageToVideo)
            : unwrap((await upscale({ input: { sourceTaskId, idempotencyKey } })).data?.upscale);
    setProblem(result.error);
    if (result.data) props.onSubmitted(result.data);
  };

  return (
    <form className="card generate" onSubmit={submit}>
      <h2>Generate</h2>
      <label>
        Model
        <select
          value={model}
          onChange={(e) => {
            setModel(e.target.value as GenerationModel);
            setSourceTaskId('');
          }}
        >
          {MODELS.map((m) => (
            <option key={m.model} value={m.model}>
              {modelLabel(m.model)}
            </option>
          ))}
        </select>
      </label>
      {spec.source && (
        <label>
          Earlier result
          <select value={sourceTaskId} onChange={(e) => setSourceTaskId(e.target.value)}>
            <option value="">{sources.length ? 'choose one' : 'no finished result yet'}</option>
            {sources.map((t) => (
              <option key={t.id} value={t.id}>
                {modelLabel(t.model)}: {t.prompt ?? t.id}
              </option>
            ))}
          </select>
        </label>
      )}
      {spec.prompt !== 'none' && (
        <>
          <label>
            Prompt{spec.prompt === 'optional' ? ' (optional)' : ''}
            <textarea
              rows={3}
              maxLength={5000}
              value={prompt}
              onChange={(e) => setPrompt(e.target.value)}
              // Named by this, not by the label around it, whose text would take in the prompt typed.
              aria-label={spec.prompt === 'optional' ? 'Prompt (optional)' : 'Prompt'}
            />
          </label>
          {earlierPrompts.length > 0 && (
            <label>
              Reuse an earlier prompt
              <select value="" onChange={(e) => e.target.value && setPrompt(e.target.value)}>
                <option value="">choose one</option>
                {earlierPrompts.map((p) => (
                  <option key={p} value={p}>
                    {p.length > 80 ? `${p.slice(0, 80)}…` : p}
                  </option>
                ))}
              </select>
            </label>
          )}
        </>
      )}
      <p className="quote">
        Price: <strong data-testid="quote-credits">{price ?? '…'}</strong> credits ·{' '}
        {price === undefined ? null : props.available >= price ? (
          <span className="ok">the balance covers it</span>
        ) : (
          <span className="neg">the balance does not cover it</span>
        )}
      </p>
      <ErrorBox error={quote.error} />
      <button type="submit" disabled={busy || !ready}>
        {busy ? 'Submitting…' : 'Generate'}
      </button>
      <ErrorBox error={transportError ?? problem} testId="submit-error" />
    </form>
  );
}
