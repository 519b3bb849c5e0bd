// The three networks of Optimum's ONNX Stable Diffusion export, with its I/O names
// (optimum/exporters/onnx/model_configs.py: CLIPTextOnnxConfig, UNetOnnxConfig, VaeDecoderOnnxConfig), on plain
// channels-first float32 arrays. The input dtypes that changed between Optimum releases (input_ids int32 or int64;
// timestep int64 [steps] before 1.14, float32 [steps] after, float32 0-d in the newest) are read from the graph.
import ort from 'onnxruntime-node';
import { BadInputError } from '../../../errors.js';
import { OnnxComponent, type OnnxIo, type OnnxSessionOptions } from './onnx-component.js';

export const OPTIMUM_TEXT_ENCODER_IO: OnnxIo = { inputs: ['input_ids'], outputs: ['last_hidden_state'] };
export const OPTIMUM_UNET_IO: OnnxIo = { inputs: ['sample', 'timestep', 'encoder_hidden_states'], outputs: ['out_sample'] };
export const OPTIMUM_VAE_DECODER_IO: OnnxIo = { inputs: ['latent_sample'], outputs: ['sample'] };

/** a float32 array with its shape (channels first, as the graphs take it) */
export interface FloatArray {
  data: Float32Array;
  dims: number[];
}

function requireFloat32(c: OnnxComponent, name: string): void {
  const { type } = c.input(name);
  if (type !== 'float32') throw new BadInputError('SD_ONNX_DTYPE', `${c.path}: input ${name} is ${type}; the engine feeds float32 (export with --dtype fp32)`);
}

/** CLIPTextModel: token ids [B, L] → last_hidden_state [B, L, D] */
export class OnnxTextEncoder {
  private constructor(readonly component: OnnxComponent) {}

  static async open(path: string, options: OnnxSessionOptions = {}): Promise<OnnxTextEncoder> {
    const c = await OnnxComponent.open(path, OPTIMUM_TEXT_ENCODER_IO, options);
    const { type } = c.input('input_ids');
    if (type !== 'int32' && type !== 'int64') throw new BadInputError('SD_ONNX_DTYPE', `${path}: input input_ids is ${type}, expected int32 or int64`);
    return new OnnxTextEncoder(c);
  }

  async encode(ids: Int32Array, batch: number, length: number): Promise<FloatArray> {
    const type = this.component.input('input_ids').type;
    const data = type === 'int64' ? BigInt64Array.from(ids, (v) => BigInt(v)) : ids;
    const out = await this.component.run({ input_ids: new ort.Tensor(type, data, [batch, length]) }, ['last_hidden_state']);
    return out.last_hidden_state!;
  }
}

/** UNet2DConditionModel: (sample [B, C, h, w], timesteps, encoder_hidden_states [B, L, D]) → out_sample [B, C, h, w] */
export class OnnxUNet {
  private constructor(readonly component: OnnxComponent) {}

  static async open(path: string, options: OnnxSessionOptions = {}): Promise<OnnxUNet> {
    const c = await OnnxComponent.open(path, OPTIMUM_UNET_IO, options);
    requireFloat32(c, 'sample');
    requireFloat32(c, 'encoder_hidden_states');
    const t = c.input('timestep');
    if ((t.type !== 'float32' && t.type !== 'int64') || t.rank > 1) {
      throw new BadInputError('SD_ONNX_DTYPE', `${path}: input timestep is ${t.type} of rank ${t.rank}; expected float32 or int64, 0-d or [steps]`);
    }
    return new OnnxUNet(c);
  }

  /** `timesteps`: one per sample (a 0-d timestep input takes a batch of one timestep only) */
  async predict(sample: FloatArray, timesteps: readonly number[], context: FloatArray): Promise<FloatArray> {
    const decl = this.component.input('timestep');
    const first = timesteps[0] ?? 0;
    if (decl.rank === 0 && timesteps.some((t) => t !== first)) {
      throw new BadInputError('SD_ONNX_TIMESTEP', `${this.component.path}: input timestep is 0-d; it cannot take a different timestep per sample`);
    }
    const values = decl.rank === 0 ? [first] : timesteps;
    const dims = decl.rank === 0 ? [] : [values.length];
    const timestep = decl.type === 'int64' ? new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims) : new ort.Tensor('float32', Float32Array.from(values), dims);
    const out = await this.component.run(
      { sample: new ort.Tensor('float32', sample.data, sample.dims), timestep, encoder_hidden_states: new ort.Tensor('float32', context.data, context.dims) },
      ['out_sample'],
    );
    return out.out_sample!;
  }
}

/** AutoencoderKL.decode (post_quant_conv and the decoder): latents already divided by scaling_factor → images about [−1, 1] */
export class OnnxVaeDecoder {
  private constructor(readonly component: OnnxComponent) {}

  static async open(path: string, options: OnnxSessionOptions = {}): Promise<OnnxVaeDecoder> {
    const c = await OnnxComponent.open(path, OPTIMUM_VAE_DECODER_IO, options);
    requireFloat32(c, 'latent_sample');
    return new OnnxVaeDecoder(c);
  }

  async decode(latents: FloatArray): Promise<FloatArray> {
    const out = await this.component.run({ latent_sample: new ort.Tensor('float32', latents.data, latents.dims) }, ['sample']);
    return out.sample!;
  }
}
