/**
 * Measured figures of a real cluster on this machine (not a test; not run in CI):
 *   npm run figures:failover   SIGKILL of the leader -> first write accepted by the new leader, 10 times
 *   npm run figures:snapshot   a stopped follower catching up on a 100k-key snapshot
 * Builds the service like the e2e tests (build/e2e-dist) and runs nodes on free loopback ports
 * with data under a temp dir, removed at the end.
 */
import { buildService } from '../helpers/build.js';
import { measureFailover } from './failover-figure.js';
import { measureSnapshotInstall } from './snapshot-figure.js';

const FIGURES: Readonly<Record<string, (mainJs: string) => Promise<void>>> = {
  failover: measureFailover,
  snapshot: measureSnapshotInstall,
};

async function main(): Promise<void> {
  const name = process.argv[2] ?? '';
  const figure = FIGURES[name];
  if (figure === undefined) {
    process.stderr.write(`usage: figures.js <${Object.keys(FIGURES).join('|')}>\n`);
    process.exit(2);
  }
  console.log(`building the service...`);
  const mainJs = await buildService();
  await figure(mainJs);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
