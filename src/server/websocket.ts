import { GraphQLError } from 'graphql';
import {
  CloseCode,
  GRAPHQL_TRANSPORT_WS_PROTOCOL,
  MessageType,
  handleProtocols,
  parseMessage,
  stringifyMessage,
  type Message,
  type SubscribePayload,
} from 'graphql-ws';
import type { Server } from 'node:http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Principal } from '../auth/principal.ts';
import { clientAddressResolver } from './client-address.ts';
import type { AppDeps } from './context.ts';
import { authenticate } from './context.ts';
import { formatError } from './errors.ts';
import type { OperationRunner, Operation } from './ws-operations.ts';

// graphql-ws's graphql-transport-ws protocol on the HTTP server's /graphql
// path. Messages are parsed, validated and written by graphql-ws's own
// parseMessage/stringifyMessage, and close codes are its CloseCode; the
// connection loop is ours rather than graphql-ws's useServer, because a
// connection lives for hours and there are thousands per process: this one
// holds one small object per connection and per subscription, and pings
// every socket from one timer (README, "bench:subscriptions").
//
// A connection authenticates once, with `connectionParams.authorization`
// carrying the same "Bearer <key>" value as the HTTP header; a missing or bad
// one closes with 4403 Forbidden, as graphql-ws does. Operations run through
// the one GraphQL pipeline, Yoga's envelop (ws-operations.ts). A revoked
// key's sockets are closed.

/** Close codes beyond graphql-ws's own 44xx set. */
export const CLOSE_TOO_MANY_CONNECTIONS = 4429;
export const CLOSE_KEY_REVOKED = 4403;

/** graphql-ws's default: a socket that has not sent connection_init by then is closed. */
const CONNECTION_INIT_TIMEOUT_MS = 3000;

/** What every connection of one server shares. */
interface Shared {
  deps: AppDeps;
  runner: OperationRunner;
  production: boolean;
  /** Counts a tenant's connection (closing it when the tenant is at its cap); false then. */
  admit(principal: Principal, connection: Connection): Promise<boolean>;
  release(principal: Principal, connection: Connection): void;
  /** The socket closed. */
  closed(connection: Connection): void;
}

/** An operation between `subscribe` and its start: one object per start, so a late start knows it was replaced. */
interface Starting {
  readonly starting: true;
}

function stop(entry: Operation | Starting | undefined): void {
  if (entry && !('starting' in entry)) entry.stop();
}

/** One socket: the protocol's state machine and its running operations. */
class Connection {
  private initialised = false;
  /** Set at connection_ack: the pipeline's initial context for every operation of this socket. */
  private authenticated: { principal: Principal } | null = null;
  private operations: Map<string, Operation | Starting> | null = null;
  private initTimer: NodeJS.Timeout | null;
  private closed = false;
  /** A ping was sent and no pong has come back yet. */
  awaitingPong = false;

  constructor(
    private readonly shared: Shared,
    readonly socket: WebSocket,
    /** The client's address (client-address.ts), for the failed-authentication limit. */
    private readonly address: string,
  ) {
    this.initTimer = setTimeout(() => {
      this.initTimer = null;
      if (!this.initialised) socket.close(CloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
    }, CONNECTION_INIT_TIMEOUT_MS);
    socket.on('message', (data) => this.receive(data));
    socket.on('pong', () => (this.awaitingPong = false));
    // `on`, not `once`: a socket closes once, and once() costs a wrapper per socket.
    socket.on('close', () => this.onClose());
    // ws closes the socket itself after an error (bad frame, payload too large, reset).
    socket.on('error', (error) => shared.deps.logger.warn({ err: error }, 'websocket error'));
  }

  send(message: Message, sent?: () => void): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    this.socket.send(stringifyMessage(message), sent);
  }

  /** Whether operation `id` is still wanted (not completed by the client, socket open). */
  wants(id: string): boolean {
    return this.operations?.has(id) ?? false;
  }

  /** The operation ended on its own: tells the client, forgets it. */
  completed(id: string): void {
    if (!this.operations?.delete(id)) return;
    this.send({ id, type: MessageType.Complete });
  }

  /** The operation could not run or failed: `error` message, no `complete` (as graphql-ws). */
  failed(id: string, errors: readonly GraphQLError[]): void {
    if (!this.operations?.delete(id)) return;
    const masked = this.shared.runner.mask(errors);
    this.send({ id, type: MessageType.Error, payload: masked.map(formatError) });
  }

  private receive(data: RawData): void {
    let message: Message;
    try {
      message = parseMessage(String(data));
    } catch {
      this.socket.close(CloseCode.BadRequest, 'Invalid message received');
      return;
    }
    switch (message.type) {
      case MessageType.ConnectionInit:
        if (this.initialised) {
          this.socket.close(CloseCode.TooManyInitialisationRequests, 'Too many initialisation requests');
          return;
        }
        this.initialised = true;
        this.clearInitTimer();
        void this.connect(message.payload).catch((error: unknown) => this.internalError(error));
        return;
      case MessageType.Ping:
        this.send(message.payload ? { type: MessageType.Pong, payload: message.payload } : { type: MessageType.Pong });
        return;
      case MessageType.Pong:
        return;
      case MessageType.Subscribe:
        this.subscribe(message.id, message.payload);
        return;
      case MessageType.Complete: {
        const entry = this.operations?.get(message.id);
        this.operations?.delete(message.id);
        stop(entry);
        return;
      }
      default:
        this.socket.close(CloseCode.BadRequest, `Unexpected message of type ${message.type} received`);
    }
  }

  private async connect(params: Record<string, unknown> | null | undefined): Promise<void> {
    const raw = params?.['authorization'];
    let principal: Principal | null = null;
    if (typeof raw === 'string' && raw !== '') {
      try {
        principal = await authenticate(this.shared.deps.authenticator, raw, this.address);
      } catch (error) {
        // A bad key is refused (4403, below), and so is an address that failed
        // too often (4429); an outage is ours (4500, the client may retry).
        const code = error instanceof GraphQLError ? error.extensions['code'] : undefined;
        if (code === 'RATE_LIMITED') {
          if (!this.closed) this.socket.close(CLOSE_TOO_MANY_CONNECTIONS, 'Too many failed authentications');
          return;
        }
        if (code !== 'UNAUTHENTICATED') throw error;
      }
    }
    if (this.closed) return;
    if (!principal) {
      this.socket.close(CloseCode.Forbidden, 'Forbidden');
      return;
    }
    if (!(await this.shared.admit(principal, this))) return;
    if (this.closed) {
      // Left while being admitted: its slot goes back.
      this.shared.release(principal, this);
      return;
    }
    this.authenticated = { principal };
    this.send({ type: MessageType.ConnectionAck });
  }

  private subscribe(id: string, payload: SubscribePayload): void {
    if (!this.authenticated) {
      this.socket.close(CloseCode.Unauthorized, 'Unauthorized');
      return;
    }
    const operations = (this.operations ??= new Map());
    if (operations.has(id)) {
      this.socket.close(CloseCode.SubscriberAlreadyExists, `Subscriber for ${id} already exists`);
      return;
    }
    const max = this.shared.deps.config.ws.maxSubscriptionsPerConnection;
    if (operations.size >= max) {
      const error = new GraphQLError(`Too many subscriptions on this connection (max ${max})`, {
        extensions: { code: 'RATE_LIMITED' },
      });
      this.send({ id, type: MessageType.Error, payload: [formatError(error)] });
      return;
    }
    // Reserved while it starts: a `complete` meanwhile, or the socket closing,
    // cancels it (and so does the id being completed and reused meanwhile).
    const starting: Starting = { starting: true };
    operations.set(id, starting);
    void this.shared.runner.start(this, this.authenticated, id, payload).then((operation) => {
      if (!operation) return;
      if (this.operations?.get(id) !== starting) return operation.stop();
      operations.set(id, operation);
      operation.pull();
    });
  }

  /** Pings, or closes a socket that did not answer the previous ping. */
  heartbeat(): void {
    if (this.awaitingPong) {
      this.socket.terminate();
      return;
    }
    this.awaitingPong = true;
    this.socket.ping();
  }

  private internalError(error: unknown): void {
    this.shared.deps.logger.error({ err: error }, 'websocket internal error');
    const reason = this.shared.production || !(error instanceof Error) ? 'Internal server error' : error.message.slice(0, 100);
    this.socket.close(CloseCode.InternalServerError, reason);
  }

  private clearInitTimer(): void {
    if (this.initTimer) clearTimeout(this.initTimer);
    this.initTimer = null;
  }

  private onClose(): void {
    this.closed = true;
    this.clearInitTimer();
    const operations = this.operations;
    this.operations = null;
    for (const entry of operations?.values() ?? []) stop(entry);
    if (this.authenticated) this.shared.release(this.authenticated.principal, this);
    this.shared.closed(this);
  }
}

export function attachWebSocket(deps: AppDeps, httpServer: Server, graphqlPath: string, runner: OperationRunner) {
  const { config } = deps;
  const wss = new WebSocketServer({
    server: httpServer,
    path: graphqlPath,
    maxPayload: config.maxBodyBytes,
    handleProtocols: (protocols) => handleProtocols(protocols),
  });
  const connections = new Set<Connection>();
  const byKey = new Map<string, Set<Connection>>();
  const addressOf = clientAddressResolver(config.trustProxy);
  // A tenant's live connections are counted with its SSE streams, across
  // processes (LIVE_MAX_CONNECTIONS_PER_TENANT; src/limits/live-slots.ts).
  const slots = deps.limits.live;

  const shared: Shared = {
    deps,
    runner,
    production: config.env === 'production',
    async admit(principal, connection) {
      if (principal.kind !== 'tenant') return true;
      if (!(await slots.acquire(principal.tenantId, 'connection'))) {
        const max = slots.cap('connection');
        connection.socket.close(CLOSE_TOO_MANY_CONNECTIONS, `Too many live connections for this tenant (max ${max})`);
        return false;
      }
      let sockets = byKey.get(principal.keyId);
      if (!sockets) byKey.set(principal.keyId, (sockets = new Set()));
      sockets.add(connection);
      return true;
    },
    release(principal, connection) {
      if (principal.kind !== 'tenant') return;
      const sockets = byKey.get(principal.keyId);
      if (sockets?.delete(connection) && sockets.size === 0) byKey.delete(principal.keyId);
      slots.release(principal.tenantId, 'connection');
    },
    closed(connection) {
      connections.delete(connection);
    },
  };

  wss.on('connection', (socket, request) => {
    if (socket.protocol !== GRAPHQL_TRANSPORT_WS_PROTOCOL) {
      socket.close(CloseCode.SubprotocolNotAcceptable, 'Subprotocol not acceptable');
      return;
    }
    connections.add(new Connection(shared, socket, addressOf(request)));
  });

  const stopListening = deps.authenticator.onRevoke((keyId) => {
    for (const connection of byKey.get(keyId) ?? []) connection.socket.close(CLOSE_KEY_REVOKED, 'API key revoked');
  });

  // One timer pings every socket; one that missed the previous ping is closed.
  const heartbeat =
    config.ws.keepAliveMs > 0
      ? setInterval(() => {
          for (const connection of connections) connection.heartbeat();
        }, config.ws.keepAliveMs).unref()
      : null;

  return {
    wss,
    /** Closes every socket with 1001 (going away) and stops accepting new ones. */
    async close(): Promise<void> {
      stopListening();
      if (heartbeat) clearInterval(heartbeat);
      for (const client of wss.clients) client.close(1001, 'Server shutting down');
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
