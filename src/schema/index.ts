import { builder } from './builder.ts';
import './errors.ts';
import './tenants/types.ts';
import './tenants/queries.ts';
import './tenants/mutations.ts';
import './ledger/types.ts';
import './ledger/operations.ts';
import './tasks/types.ts';
import './tasks/queries.ts';
import './tasks/mutations.ts';
import './subscriptions.ts';
import './webhooks.ts';
import './audit.ts';
import './usage.ts';
import './upstream.ts';
import './reconciliation.ts';

export const schema = builder.toSchema({ sortSchema: false });
