// A process that settles one task through the lifecycle and is SIGKILLed the
// moment the statement has committed, before it runs anything else: what a
// crash right after a commit looks like. argv: database URL, task id.
import { notifyAnnouncer } from '../../src/db/announce.ts';
import { createPrisma } from '../../src/db/client.ts';
import { settle } from '../../src/tasks/lifecycle.ts';

const [url, taskId] = process.argv.slice(2) as [string, string];
const db = createPrisma(url, { max: 1 });
const task = await db.task.findUniqueOrThrow({ where: { id: taskId } });
const ended = await settle({ db, announcer: notifyAnnouncer }, task, {
  status: 'SUCCESS',
  resultUrls: ['https://cdn.example/after-death.png'],
  consumedCredits: 5,
});
process.kill(process.pid, ended ? 'SIGKILL' : 'SIGTERM');
