// Writes a mini COCO-2014 val (official JSON format, every decoding case) for trying `vsdlab datasets prepare`.
// Usage: node scripts/make-mini-coco.js OUT_DIR   (after `npx tsc -p tsconfig.json`; the generator is
// test/helpers/mini-coco.ts, which the tests use too)
import { writeMiniCoco } from '../dist/test/helpers/mini-coco.js';

const out = process.argv[2];
if (!out) {
  console.error('usage: node scripts/make-mini-coco.js OUT_DIR');
  process.exit(2);
}
const coco = await writeMiniCoco(out);
console.log(`wrote ${coco.annotations} (${coco.imageCount} images, ${coco.captionCount} captions) and ${coco.images}/`);
console.log(`try: vsdlab datasets prepare coco2014 --annotations ${coco.annotations} --images ${coco.images} --out ${out}/prepared --caption-count 12`);
