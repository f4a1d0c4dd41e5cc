/**
 * Front ends by file extension: each turns a file's text into the language-neutral facts the
 * rules read. Adding a language is one front end and one line per extension here.
 */
import { JS_EXTENSIONS, lintFactsJs } from './js/parse.js';
import type { FileFacts } from './types.js';

export type FrontEnd = (file: string, source: string, extension: string) => FileFacts;

export const FRONT_ENDS: ReadonlyMap<string, FrontEnd> = new Map<string, FrontEnd>([...JS_EXTENSIONS.map((ext) => [ext, lintFactsJs] as const)]);

export const EXTENSIONS: ReadonlySet<string> = new Set(FRONT_ENDS.keys());
