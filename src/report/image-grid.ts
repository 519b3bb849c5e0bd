import sharp from 'sharp';
import type { GridSpec, Report } from './types.js';

const CELL = 128;
const GAP = 6;
const FONT = 'DejaVu Sans';

// pango markup: sharp's text input parses it, so user text is escaped like HTML
const escapePango = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

async function textImage(text: string, width: number, size: number, maxHeight: number): Promise<{ input: Buffer; width: number; height: number }> {
  const rendered = await sharp({ text: { text: escapePango(text), font: `${FONT} ${size}`, width, rgba: true, wrap: 'word', dpi: 72 } })
    .png()
    .toBuffer({ resolveWithObject: true });
  if (rendered.info.height <= maxHeight) return { input: rendered.data, width: rendered.info.width, height: rendered.info.height };
  const cropped = await sharp(rendered.data).extract({ left: 0, top: 0, width: rendered.info.width, height: maxHeight }).png().toBuffer();
  return { input: cropped, width: rendered.info.width, height: maxHeight };
}

async function tile(path: string | null): Promise<Buffer> {
  if (path === null) {
    return sharp({ create: { width: CELL, height: CELL, channels: 3, background: '#dddddd' } }).png().toBuffer();
  }
  const meta = await sharp(path).metadata();
  // small embedded-study images are enlarged without smoothing, so what is shown is what was scored
  const kernel = (meta.width ?? CELL) < CELL ? 'nearest' : 'lanczos3';
  return sharp(path).resize(CELL, CELL, { fit: 'contain', background: '#ffffff', kernel }).flatten({ background: '#ffffff' }).png().toBuffer();
}

/** rows = captions (image row, caption printed under it), columns = cells; one PNG */
export async function composeGrid(grid: GridSpec): Promise<Buffer> {
  const width = GAP + grid.columns.length * (CELL + GAP);
  const layers: sharp.OverlayOptions[] = [];
  let y = GAP;
  const headers = await Promise.all(grid.columns.map((label) => textImage(label, CELL, 10, 40)));
  const headerHeight = Math.max(0, ...headers.map((h) => h.height));
  headers.forEach((h, i) => layers.push({ input: h.input, left: GAP + i * (CELL + GAP), top: y }));
  y += headerHeight + GAP;
  for (const [r, caption] of grid.captions.entries()) {
    const tiles = await Promise.all((grid.cells[r] ?? []).map(tile));
    tiles.forEach((input, i) => layers.push({ input, left: GAP + i * (CELL + GAP), top: y }));
    y += CELL + 2;
    const text = await textImage(caption, width - 2 * GAP, 11, 48);
    layers.push({ input: text.input, left: GAP, top: y });
    y += text.height + 2 * GAP;
  }
  return sharp({ create: { width, height: y, channels: 3, background: '#ffffff' } }).composite(layers).png().toBuffer();
}
