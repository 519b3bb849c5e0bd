import type { ChartConfiguration, Plugin } from 'chart.js';
import { FailureError } from '../../errors.js';
import { errorBarsPlugin } from './error-bars.js';

// Two ways to a PNG, one chart.js config. chartjs-node-canvas needs `canvas` (cairo), which is an optional
// dependency because it builds from source where no prebuilt binary can be downloaded (offline, no cairo
// headers); @napi-rs/canvas (skia) ships prebuilt binaries inside npm packages and always installs.
// chartjs-node-canvas is used when its canvas loads, otherwise chart.js draws on @napi-rs/canvas directly.

export type ChartBackend = 'chartjs-node-canvas' | '@napi-rs/canvas';
export const CHART_WIDTH = 800;
export const CHART_HEIGHT = 480;

type Render = (config: ChartConfiguration) => Promise<Buffer>;

/** chart.js in Node: no resize observers, no animation frames, one canvas pixel per CSS pixel */
const forNode = (config: ChartConfiguration): ChartConfiguration => ({
  ...config,
  options: { ...config.options, responsive: false, animation: false, devicePixelRatio: 1 },
});

// the part of chartjs-node-canvas we use, typed here because the package may be absent when this compiles
interface NodeCanvasModule {
  ChartJSNodeCanvas: new (options: {
    width: number;
    height: number;
    backgroundColour: string;
    plugins: { modern: Plugin[] };
  }) => { renderToBuffer(config: ChartConfiguration, mimeType: 'image/png'): Promise<Buffer> };
}

async function viaNodeCanvas(): Promise<Render> {
  const name: string = 'chartjs-node-canvas'; // a variable, so tsc does not resolve the optional package
  const { ChartJSNodeCanvas } = (await import(name)) as NodeCanvasModule;
  // the constructor loads `canvas` (and a fresh copy of chart.js): it throws here when canvas is missing
  const service = new ChartJSNodeCanvas({ width: CHART_WIDTH, height: CHART_HEIGHT, backgroundColour: 'white', plugins: { modern: [errorBarsPlugin] } });
  return (config) => service.renderToBuffer(forNode(config), 'image/png');
}

/** chartjs-node-canvas's background plugin: white behind everything drawn */
const whiteBackground: Plugin = {
  id: 'vsdlabWhiteBackground',
  beforeDraw(chart) {
    const { ctx } = chart;
    ctx.save();
    ctx.globalCompositeOperation = 'destination-over';
    ctx.fillStyle = 'white';
    ctx.fillRect(0, 0, CHART_WIDTH, CHART_HEIGHT);
    ctx.restore();
  },
};

async function viaNapiCanvas(): Promise<Render> {
  const { createCanvas } = await import('@napi-rs/canvas');
  const { default: Chart } = await import('chart.js/auto');
  return async (config) => {
    const canvas = createCanvas(CHART_WIDTH, CHART_HEIGHT);
    const node = forNode(config);
    // chart.js takes any object with a 2D context's methods; skia's context is one
    const context = canvas.getContext('2d') as unknown as ConstructorParameters<typeof Chart>[0];
    const chart = new Chart(context, { ...node, plugins: [...(node.plugins ?? []), errorBarsPlugin, whiteBackground] });
    try {
      return await canvas.encode('png');
    } finally {
      chart.destroy();
    }
  };
}

const loaders: Record<ChartBackend, () => Promise<Render>> = { 'chartjs-node-canvas': viaNodeCanvas, '@napi-rs/canvas': viaNapiCanvas };
const loaded = new Map<ChartBackend, Promise<Render>>();

/** the renderer of one backend (loaded once per process); rejects when that backend cannot load here */
export const chartRenderer = (backend: ChartBackend): Promise<Render> => {
  let render = loaded.get(backend);
  if (!render) loaded.set(backend, (render = loaders[backend]()));
  return render;
};

let chosen: Promise<{ backend: ChartBackend; render: Render }> | undefined;
const choose = async (): Promise<{ backend: ChartBackend; render: Render }> => {
  const reasons: string[] = [];
  for (const backend of ['chartjs-node-canvas', '@napi-rs/canvas'] as const) {
    try {
      return { backend, render: await chartRenderer(backend) };
    } catch (e) {
      reasons.push(`${backend}: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
    }
  }
  throw new FailureError(
    'CHARTS_UNAVAILABLE',
    `no canvas to draw charts on (${reasons.join('; ')})`,
    'run `npm ci` again so that @napi-rs/canvas installs its prebuilt binary for this platform, or install cairo and pango (Debian: libcairo2-dev libpango1.0-dev) so that canvas builds',
  );
};

/** which backend renders the charts in this process */
export const chartBackend = async (): Promise<ChartBackend> => (await (chosen ??= choose())).backend;

/** one chart as an 800×480 PNG on white */
export const renderChartPng = async (config: ChartConfiguration): Promise<Buffer> => (await (chosen ??= choose())).render(config);
