/**
 * `pnpm eval faces --data <dir>` / `pnpm eval laundry --data <dir>`: trains the way the hub trains,
 * evaluates on photos the training never saw, prints JSON on stdout (logs on stderr).
 */
const [what, ...rest] = process.argv.slice(2);
const usage = 'usage: pnpm eval faces --data <identity folders> | pnpm eval laundry --data <folder with good/ and defect/> [--seed N]';

try {
  if (what === 'faces') await (await import('./eval-faces.js')).runFaceEval(rest);
  else if (what === 'laundry') await (await import('./eval-laundry.js')).runLaundryEval(rest);
  else {
    console.error(usage);
    process.exitCode = 2;
  }
} catch (err) {
  console.error(`eval failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
