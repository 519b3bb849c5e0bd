// --json, on its own so that light commands (fid of two .npz files) need not load the run store and YAML.
export const jsonOption = { type: 'boolean', default: false, description: 'print JSON for machines' } as const;
