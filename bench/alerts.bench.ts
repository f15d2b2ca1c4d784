/**
 * Alerting's figures on its own (also a phase of `npm run bench`, `--only alerts`): see
 * bench/lib/alerts.ts.
 *
 *   npx tsx bench/alerts.bench.ts [--agents 10000]   (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres)
 */
// The alerts phase runs the server in this process: in production mode, as deployed.
import '../api/production';
import { alertTargets, measureAlerts } from './lib/alerts';

const count = Number(process.argv[process.argv.indexOf('--agents') + 1]) || 10_000;
const baseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

measureAlerts({ baseUrl, agents: count, log: (s) => console.log(s) })
  .then((result) => {
    for (const [target, verdict] of Object.entries(alertTargets(result))) console.log(`  ${verdict.padEnd(7)} ${target}`);
  })
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
