import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The folder holding this project's package.json, found from wherever this file runs (src/ or dist/src/). */
function findProjectRoot(start: string): string {
  let dir = start;
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      const parsed = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string };
      if (parsed.name === 'boxcycle') return dir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`could not find the boxcycle package.json above ${start}`);
    dir = parent;
  }
}

export const projectRoot = findProjectRoot(__dirname);
/** Tools built from registry packages; git-ignored, built once and reused. */
export const toolsDir = path.join(projectRoot, '.tools');
/** Default data folder of the embedded database; git-ignored. */
export const defaultDataDir = path.join(projectRoot, '.data');
