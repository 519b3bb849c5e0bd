import * as tf from '@tensorflow/tfjs';
import { type AsyncSamplerOptions, type SamplerOptions, type SamplerPlan, type SamplerSteps, advance, epsAndX0, runSampler, runSamplerAsync } from './common.js';
import { SD_DPM_SPACING, dpmSolverTimesteps } from '../timesteps.js';

/**
 * DPM-Solver++(2M) (Lu et al. 2022), data-prediction multistep, midpoint form, as diffusers'
 * DPMSolverMultistepScheduler with algorithm_type dpmsolver++, solver_order 2, final_sigmas_type 'zero':
 * first step and last step first order (the last lands on σ = 0, i.e. returns x0̂).
 * with λ = log(α/σ) and h = λ_t − λ_s:
 *   x_t = (σ_t/σ_s) x_s − α_t (e^{−h} − 1) D0 − ½ α_t (e^{−h} − 1) D1,  D0 = x0̂_s, D1 = (x0̂_s − x0̂_{s'})·h/h_prev
 */
export function* dpmSolverPlusPlus2MSteps(options: SamplerPlan): SamplerSteps {
  const { schedule, steps } = options;
  const timesteps = dpmSolverTimesteps(schedule.numTrainTimesteps, steps, options.spacing ?? SD_DPM_SPACING);
  const coef = (t: number): { alpha: number; sigma: number; lambda: number } => {
    const abar = schedule.alphasCumprod[t] as number;
    const alpha = Math.sqrt(abar);
    const sigma = Math.sqrt(1 - abar);
    return { alpha, sigma, lambda: Math.log(alpha) - Math.log(sigma) };
  };
  let x = options.xT;
  let previousX0: tf.Tensor | undefined;
  let previousLambda = 0;
  for (const [i, t] of timesteps.entries()) {
    const s = coef(t);
    const last = i === timesteps.length - 1;
    const out = yield { x, t };
    const x0 = tf.tidy(() => epsAndX0(options, x, out, t).x0);
    out.dispose();
    const next = timesteps[i + 1];
    x = advance(x, options.xT, () => {
      if (last || next === undefined) return x0.clone();
      const n = coef(next);
      const h = n.lambda - s.lambda;
      const expm1 = Math.expm1(-h);
      const firstOrder = tf.sub(tf.mul(n.sigma / s.sigma, x), tf.mul(n.alpha * expm1, x0));
      if (previousX0 === undefined) return firstOrder;
      const r = (s.lambda - previousLambda) / h;
      const d1 = tf.mul(1 / r, tf.sub(x0, previousX0));
      return tf.sub(firstOrder, tf.mul(0.5 * n.alpha * expm1, d1));
    });
    previousX0?.dispose();
    previousX0 = x0;
    previousLambda = s.lambda;
    options.onStep?.(i, t);
  }
  previousX0?.dispose();
  return x === options.xT ? x.clone() : x;
}

export const dpmSolverPlusPlus2M = <C>(options: SamplerOptions<C>): tf.Tensor => runSampler(dpmSolverPlusPlus2MSteps(options), options.model, options.cond);

export const dpmSolverPlusPlus2MAsync = <C>(options: AsyncSamplerOptions<C>): Promise<tf.Tensor> => runSamplerAsync(dpmSolverPlusPlus2MSteps(options), options.model, options.cond);
