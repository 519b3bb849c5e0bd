import * as tf from '@tensorflow/tfjs';
import { randomNormal } from '../tensor/random-normal.js';
import { BadInputError } from '../errors.js';

export type Init = 'fanIn' | 'zeros' | 'ones';

/** named trainable weights of a network */
export type ParamMap = Record<string, tf.Variable>;

/** where a layer gets its weights: created on first use at init, looked up (shape-checked) afterwards */
export interface WeightSource {
  get(name: string, shape: number[], init: Init): tf.Tensor;
}

/** creates variables as the architecture asks for them; a seed makes initialisation reproducible */
export class WeightInitializer implements WeightSource {
  readonly params: ParamMap = {};
  private counter = 0;
  constructor(
    private readonly seed: number,
    private readonly zeroInit: boolean,
  ) {}
  get(name: string, shape: number[], init: Init): tf.Tensor {
    const existing = this.params[name];
    if (existing !== undefined) throw new Error(`weight ${name} is created twice`);
    this.counter += 1;
    const fanIn = shape.length <= 1 ? 1 : shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const value = tf.tidy(() => {
      if (init === 'ones') return tf.ones(shape);
      // with zeroInit off, "zeros" layers get small random values so every path is exercised (tests)
      if (init === 'zeros') return this.zeroInit ? tf.zeros(shape) : randomNormal(shape, 0, 0.2 / Math.sqrt(fanIn), 'float32', this.seed * 7919 + this.counter);
      return randomNormal(shape, 0, 1 / Math.sqrt(fanIn), 'float32', this.seed * 7919 + this.counter);
    });
    // tfjs variable names are process-global, so the map key carries the name, not the variable
    const variable = tf.variable(value, true);
    value.dispose();
    this.params[name] = variable;
    return variable;
  }
}

// the weights a reader gets come from a file the user names (a teacher folder, a checkpoint, a feature network):
// networks initialised here always fit their architecture, so a mismatch means the file does not
const MISMATCH_HINT = 'the weights file does not fit the architecture its description (teacher.json, the recipe, the network\'s .json) declares: re-export or retrain it';

/** reads existing weights, failing loudly on a missing name or a shape mismatch */
export class WeightReader implements WeightSource {
  constructor(private readonly params: ParamMap) {}
  get(name: string, shape: number[]): tf.Tensor {
    const w = this.params[name];
    if (w === undefined) throw new BadInputError('WEIGHTS_MISMATCH', `missing weight ${name}`, MISMATCH_HINT);
    if (w.shape.length !== shape.length || w.shape.some((d, i) => d !== shape[i])) {
      throw new BadInputError('WEIGHTS_MISMATCH', `weight ${name} has shape [${w.shape.join(', ')}], the architecture needs [${shape.join(', ')}]`, MISMATCH_HINT);
    }
    return w;
  }
}
