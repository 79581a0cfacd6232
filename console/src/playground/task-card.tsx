import { useEffect } from 'react';
import { useSubscription } from 'urql';
import { ErrorBox } from '../errors.tsx';
import { formatTime, isVideo, modelLabel } from '../format.ts';
import type { ConsoleTaskFragment } from '../gql/graphql.ts';
import { TaskUpdated } from './operations.ts';

const ENDED = new Set(['SUCCESS', 'FAILED']);

/** One submitted task, followed live over graphql-ws until it ends (taskUpdated completes then). */
export function TaskCard(props: { task: ConsoleTaskFragment; onEnded(): void }) {
  const [{ data, error }] = useSubscription({ query: TaskUpdated, variables: { id: props.task.id } });
  const task = data?.taskUpdated ?? props.task;
  const ended = ENDED.has(task.status);
  const { onEnded } = props;
  useEffect(() => {
    if (ended) onEnded();
  }, [ended, onEnded]);
  return (
    <article className="card task" data-testid="task" data-task-id={task.id} data-status={task.status}>
      <header className="inline">
        <span className={`badge task-${task.status}`} data-testid="task-status">
          {task.status}
        </span>
        <span>{modelLabel(task.model)}</span>
        <span className="muted">{formatTime(task.createdAt)}</span>
        {!ended && <span className="spinner" aria-label="in progress" />}
      </header>
      {task.prompt && <p className="prompt">“{task.prompt}”</p>}
      <p className="muted">
        Charged <span data-testid="task-charged">{task.creditsCharged}</span> credits
        {task.completedAt && <> · ended {formatTime(task.completedAt)}</>}
      </p>
      {task.status === 'SUCCESS' &&
        task.resultUrls.map((url) =>
          isVideo(url) ? (
            <video key={url} src={url} controls loop muted className="result" data-testid="result-video" />
          ) : (
            <img key={url} src={url} alt={`Result of ${task.prompt ?? 'the task'}`} className="result" data-testid="result-image" />
          ),
        )}
      {task.status === 'FAILED' && (
        <div className="error" data-testid="task-error">
          <strong>Failed</strong>: {task.errorMessage ?? 'no reason given'}
          <div className="help" data-testid="task-refund">
            {task.refunded
              ? `Refunded: the ${task.creditsCharged} credits charged went back to the balance.`
              : task.creditsCharged === 0
                ? 'Nothing was charged: the credits held for it were released.'
                : 'Not refunded yet.'}
          </div>
        </div>
      )}
      <ErrorBox error={error} />
    </article>
  );
}
