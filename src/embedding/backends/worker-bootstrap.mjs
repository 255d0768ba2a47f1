// Worker threads do not inherit the parent's `--import tsx` hook for their entry file, and bin/dejavu.js
// registers tsx programmatically; so each worker starts from this plain-JS file, registers tsx itself,
// then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./inference-worker.ts');
