import { PROGRESS_CHOICES, type ProgressChoice } from '../exec/progress.js';
// --json and --progress, on their own so that light commands (fid of two .npz files) need not load the run store and YAML.
export const jsonOption = { type: 'boolean', default: false, description: 'print JSON for machines' } as const;

export const progressOption = {
  choices: PROGRESS_CHOICES,
  default: 'auto' as ProgressChoice,
  description: 'progress: auto = a bar on a terminal, else plain lines (every $VSDLAB_PROGRESS_SECONDS s, default 10, or every 10 %) or, with --json, NDJSON events on stderr',
} as const;
