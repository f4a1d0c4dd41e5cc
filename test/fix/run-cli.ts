// Runs the CLI in a child process (for kill -9 tests): node --import tsx test/fix/run-cli.ts fix ...
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv);
