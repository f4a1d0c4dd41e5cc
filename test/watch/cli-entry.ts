// Runs `keywarden watch` in a child process through the CLI's main (the registry loads only
// watch), for the signal and CLI tests.
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv);
