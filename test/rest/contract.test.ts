// The contract suite that holds the simulator to the upstream contract
// (test/upstream/contract-suite.ts), run against the gateway's REST facade:
// one suite, two targets. Accounts are tenants of the gateway; task ids are
// the gateway's; the gateway's own simulator does the work upstream.
import { contractSuite } from '../upstream/contract-suite.ts';
import { startTestGateway } from '../helpers/gateway.ts';
import { rowId } from '../helpers/graphql.ts';
import { restWaitDone } from './helpers.ts';

contractSuite("the gateway's REST facade", async () => {
  const gw = await startTestGateway();
  const db = gw.deps.db;
  let tenants = 0;
  let firstKey: string | null = null;
  const upstreamId = async (taskId: string) => (await db.task.findUniqueOrThrow({ where: { id: taskId } })).upstreamTaskId!;
  return {
    url: `${gw.url}/api`,
    sim: gw.simulator,
    taskIdPattern: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    async account(credits) {
      const tenant = await gw.createTenant(`contract-${++tenants}`, credits);
      firstKey ??= tenant.key;
      const tenantId = rowId(tenant.id);
      return {
        apiKey: tenant.key,
        credits: async () => (await db.account.findUniqueOrThrow({ where: { tenantId } })).available,
      };
    },
    async complete(taskId, status) {
      gw.simulator.completeNow(await upstreamId(taskId), status);
      // The gateway learns it at its next poll (tens of ms in tests).
      await restWaitDone(gw.url, firstKey!, taskId);
    },
    upstreamId,
    // Each account is a tenant of its own: nothing to put back.
    reset: async () => undefined,
    stop: () => gw.stop(),
  };
});
