/**
 * V8 heap tuning, applied from inside the process because a node is started as plain
 * `node dist/main.js` (SPEC 1). Imported first by main.ts, before the framework loads.
 *
 * Why: V8 grows the old generation by a factor of up to 4x of what survived the last full GC
 * before it collects again. A node holding a large state (about 200 MiB live at 1M keys) keeps a
 * steady trickle of promoted garbage (replaced values, copy-on-write tree nodes while a snapshot
 * streams, answers of pending requests), so its heap, and RSS, ballooned to 2-4x its live data
 * between collections. `--heap-growing-percent` caps that factor; it is read at every full GC, so
 * setting it at run time takes effect (verified: an old-space churn test peaked at 815 MiB of heap
 * without it, 439 MiB with 25%, for more GC CPU). Flags fixed at isolate creation, such as
 * `--max-old-space-size`, would do nothing here and are not set; `--semi-space-growth-factor=1`
 * does act at run time but saved under 10 MiB of RSS in the scale bench, so it is not set either.
 *
 * The price is GC work: a full GC marks the whole live heap, and a smaller allowed growth means
 * more of them for the same promoted garbage. Measured with `npm run bench -- --scale --scale-keys
 * 200000 --quick` (noisy 2-core machine): no flag, RSS max 223-390 MiB, event-loop delay max
 * 34-140 ms; 25%, 199-221 MiB but 305-333 ms; 50%, 212-233 MiB and 36-70 ms. Hence 50.
 *
 * An operator's own choice wins: if NODE_OPTIONS or the command line already names the flag, it
 * is left alone.
 */
import v8 from 'node:v8';

/** Old-generation growth allowed between full GCs, in percent of what survived the last one. */
export const HEAP_GROWING_PERCENT = 50;

const FLAG = 'heap-growing-percent';

function namedByOperator(): boolean {
  const given = [...process.execArgv, process.env['NODE_OPTIONS'] ?? ''].join(' ');
  return given.includes(`--${FLAG}`) || given.includes(`--${FLAG.replaceAll('-', '_')}`);
}

if (!namedByOperator()) v8.setFlagsFromString(`--${FLAG}=${HEAP_GROWING_PERCENT}`);
