// `npm run ledger:verify`: checks every ledger invariant against DATABASE_URL
// (or the embedded database of `npm start`) and exits 1 on any violation.
import { loadConfig } from '../config.ts';
import { openDatabase } from '../db/open.ts';
import { verifyLedger } from './verify.ts';

const config = loadConfig();
const database = await openDatabase(config);
try {
  const violations = await verifyLedger(database.prisma);
  if (violations.length === 0) {
    console.log('ledger: all invariants hold');
  } else {
    for (const v of violations) console.error(`ledger violation: ${v.invariant}: ${v.detail}`);
    process.exitCode = 1;
  }
} finally {
  await database.close();
}
