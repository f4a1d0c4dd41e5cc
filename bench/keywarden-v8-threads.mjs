// keywarden's CLI without the single-threaded restart of src/cli/run.ts (relaunch.ts): the
// ablation row of bench:scan, V8's background threads left on. Same main(), same nice 10.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
