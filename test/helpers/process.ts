import { spawn, type ChildProcess } from 'node:child_process';
import { ADMIN_TOKEN } from './gateway.ts';

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  graphqlUrl: string;
  /** Everything it logged so far (JSON lines). */
  logs(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * `src/main.ts` in a process of its own (so it can be SIGKILLed), on port 0;
 * resolves once its banner names its URL.
 */
export function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      PORT: '0',
      ADMIN_TOKEN,
      SEED_DEMO_TENANT: 'false',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      const url = /GraphQL:\s+(http\S+)\/graphql/.exec(err)?.[1];
      if (url) {
        resolve({
          child,
          url,
          graphqlUrl: `${url}/graphql`,
          logs: () => out,
          stop: (signal = 'SIGTERM') =>
            new Promise<void>((done) => {
              if (child.exitCode !== null || child.signalCode !== null) return done();
              child.once('exit', () => done());
              child.kill(signal);
            }),
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code}: ${err}\n${out}`)));
  });
}
