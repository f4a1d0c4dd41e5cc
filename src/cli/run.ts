/**
 * Process entry: runs the CLI on process.argv and sets the exit code. `bin/keywarden.js`
 * runs the compiled copy of this; tests run it through tsx.
 */
import { main } from './main.js';

process.exitCode = await main(process.argv);
