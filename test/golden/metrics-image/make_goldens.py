"""golden values for src/metrics/image (run with debian's /usr/bin/python3: pillow 9.4, torch 1.13, numpy).

    /usr/bin/python3 test/golden/metrics-image/make_goldens.py

writes, next to this script:
  fixtures/*.png|jpg|tif   small image files in every pillow mode we convert from (committed)
  resize.json              pillow (uint8 + float 'F'), torch bilinear (antialias off/on), tf1 bilinear
  preprocess.json          clean / legacy-pytorch / legacy-tensorflow / torchmetrics / clip / clip-hf
  convert.json             pillow Image.open(f).convert('RGB') of each fixture
arrays are base64 of raw little-endian bytes (uint8 or float32), shapes given alongside.
the reference steps are written out here in plain pillow/torch/numpy (clean-fid, pytorch-fid,
torch-fidelity, torchvision and transformers are not installed); each mirrors the cited source.
"""
import base64
import json
import os
import sys

import numpy as np
import PIL
import torch
import torch.nn.functional as F
from PIL import Image

torch.set_num_threads(1)
HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, 'fixtures')
os.makedirs(FIX, exist_ok=True)

FILTERS = {'bicubic': Image.BICUBIC, 'lanczos': Image.LANCZOS, 'bilinear': Image.BILINEAR}


def b64(a):
    a = np.ascontiguousarray(a)
    assert a.dtype in (np.uint8, np.float32), a.dtype
    return base64.b64encode(a.astype(a.dtype.newbyteorder('<')).tobytes()).decode('ascii')


rng = np.random.RandomState(20261126)


def noise_image(w, h, c=3):
    return rng.randint(0, 256, size=(h, w, c)).astype(np.uint8)


def smooth_image(w, h, c=3):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = []
    for k in range(c):
        v = 127.5 + 110 * np.sin(xx / (3.0 + k) + yy / (4.0 + 2 * k) + k) + rng.normal(0, 12, size=(h, w))
        chans.append(v)
    img = np.stack(chans, axis=2)
    img[: h // 4, : w // 4, :] = 255  # saturated patch exercises clip8
    img[-(h // 5) - 1:, -(w // 5) - 1:, :] = 0
    return np.clip(np.round(img), 0, 255).astype(np.uint8)


inputs = {
    'a7x5': noise_image(7, 5),
    'b13x17': noise_image(13, 17),
    'c1x9': noise_image(1, 9),
    'd9x1': noise_image(9, 1),
    'e40x30': smooth_image(40, 30),
    'f5x5': noise_image(5, 5),
    'g64x48': smooth_image(64, 48),
    'h50x37': smooth_image(50, 37),
}

# (input, out_w, out_h): up, down, non-square, one pass only, 1-pixel-wide/high, identity
CASES = [
    ('a7x5', 13, 17), ('a7x5', 3, 2), ('b13x17', 7, 5), ('b13x17', 5, 11), ('b13x17', 13, 6),
    ('b13x17', 20, 17), ('c1x9', 4, 3), ('c1x9', 1, 4), ('d9x1', 3, 5), ('e40x30', 11, 7),
    ('e40x30', 61, 9), ('f5x5', 5, 5), ('g64x48', 17, 23),
]


def enc_input(name, a):
    h, w = a.shape[:2]
    c = a.shape[2] if a.ndim == 3 else 1
    return {'width': w, 'height': h, 'channels': c, 'dtype': str(a.dtype), 'data': b64(a)}


# float inputs for the 'F' path: fractional values and a few outside [0,255] (F images are not clipped)
float_inputs = {}
for name, a in inputs.items():
    f = a.astype(np.float32) + rng.uniform(-0.5, 0.5, size=a.shape).astype(np.float32)
    f.flat[:: 7] *= np.float32(1.25)
    float_inputs[name] = f.astype(np.float32)


def resize_pillow_u8(a, w, h, filt):
    mode = 'RGB' if a.shape[2] == 3 else 'L'
    src = Image.fromarray(a if mode == 'RGB' else a[:, :, 0], mode)
    out = np.asarray(src.resize((w, h), resample=FILTERS[filt]))
    return out.reshape(h, w, -1)


def resize_pillow_f32(plane, w, h, filt):
    src = Image.fromarray(plane.astype(np.float32), mode='F')
    return np.asarray(src.resize((w, h), resample=FILTERS[filt]), dtype=np.float32)


def torch_bilinear(chw, w, h, antialias):
    x = torch.from_numpy(chw[None].copy())
    return F.interpolate(x, size=(h, w), mode='bilinear', align_corners=False, antialias=antialias)[0].numpy()


def tf1_bilinear(chw, w, h):
    # torch-fidelity interpolate_bilinear_2d_like_tensorflow1x, method='slow', align_corners=False:
    # src = dst * (in/out) in float32, floor, right/bottom neighbour clamped, two lerps in float32
    x = torch.from_numpy(chw[None].copy())
    in_h, in_w = chw.shape[1], chw.shape[2]
    gx = torch.arange(0, w, 1, dtype=torch.float32) * torch.tensor(in_w / w, dtype=torch.float32)
    gx0 = gx.long()
    gx1 = (gx0 + 1).clamp_max(in_w - 1)
    dx = gx - gx0.float()
    gy = torch.arange(0, h, 1, dtype=torch.float32) * torch.tensor(in_h / h, dtype=torch.float32)
    gy0 = gy.long()
    gy1 = (gy0 + 1).clamp_max(in_h - 1)
    dy = gy - gy0.float()
    i00 = x[:, :, gy0, :][:, :, :, gx0]
    i01 = x[:, :, gy0, :][:, :, :, gx1]
    i10 = x[:, :, gy1, :][:, :, :, gx0]
    i11 = x[:, :, gy1, :][:, :, :, gx1]
    r0 = i00 + (i01 - i00) * dx.view(1, 1, 1, w)
    r1 = i10 + (i11 - i10) * dx.view(1, 1, 1, w)
    out = r0 + (r1 - r0) * dy.view(1, 1, h, 1)
    # independent cross-check: clean-fid's torchscript legacy_tensorflow resize (affine_grid + grid_sample)
    theta = torch.eye(2, 3).unsqueeze(0)
    theta[0, 0, 2] += theta[0, 0, 0] / in_w - theta[0, 0, 0] / w
    theta[0, 1, 2] += theta[0, 1, 1] / in_h - theta[0, 1, 1] / h
    grid = F.affine_grid(theta, [1, chw.shape[0], h, w], align_corners=False)
    alt = F.grid_sample(x, grid, mode='bilinear', padding_mode='border', align_corners=False)
    assert float((alt - out).abs().max()) < 2e-3 * max(1.0, float(x.abs().max())), 'tf1 cross-check failed'
    return out[0].numpy()


def torch_cases():
    # torch's cpu kernels are compiled per capability (default / avx2 / avx512) and the vector builds contract
    # p*q + r into fma, so results differ by an ulp between capabilities: record the native one and 'default'
    cap = os.environ.get('ATEN_CPU_CAPABILITY', 'native')
    out = []
    for (name, w, h) in CASES:
        a = inputs[name]
        # [0,255] floats: an ulp there is 2^-16..2^-23, so these tell kernels apart ([0,1] inputs are covered
        # by the legacy-pytorch preprocessing goldens)
        chw255 = a.astype(np.float32).transpose(2, 0, 1)
        for aa in (False, True):
            out.append({'input': name, 'scale': '255', 'antialias': aa, 'width': w, 'height': h,
                        'capability': cap, 'data': b64(torch_bilinear(chw255, w, h, aa))})
    return out


if len(sys.argv) > 1 and sys.argv[1] == '--torch-cases':
    json.dump(torch_cases(), sys.stdout)
    sys.exit(0)

import subprocess  # noqa: E402

resize = {'inputs': {}, 'floatInputs': {}, 'pillowU8': [], 'pillowF32': [], 'tf1Bilinear': []}
resize['torchBilinear'] = torch_cases() + json.loads(subprocess.run(
    [sys.executable, os.path.abspath(__file__), '--torch-cases'], check=True, capture_output=True,
    env=dict(os.environ, ATEN_CPU_CAPABILITY='default')).stdout)
for name in inputs:
    resize['inputs'][name] = enc_input(name, inputs[name])
    resize['floatInputs'][name] = enc_input(name, float_inputs[name][:, :, :1].copy())  # one 'F' plane

for (name, w, h) in CASES:
    a = inputs[name]
    for filt in FILTERS:
        resize['pillowU8'].append({'input': name, 'channels': 3, 'filter': filt, 'width': w, 'height': h,
                                   'data': b64(resize_pillow_u8(a, w, h, filt))})
        resize['pillowU8'].append({'input': name, 'channels': 1, 'filter': filt, 'width': w, 'height': h,
                                   'data': b64(resize_pillow_u8(a[:, :, 1:2], w, h, filt))})
        plane = float_inputs[name][:, :, 0]
        resize['pillowF32'].append({'input': name, 'filter': filt, 'width': w, 'height': h,
                                    'data': b64(resize_pillow_f32(plane, w, h, filt))})
    resize['tf1Bilinear'].append({'input': name, 'width': w, 'height': h,
                                  'data': b64(tf1_bilinear(a.astype(np.float32).transpose(2, 0, 1), w, h))})

# random sizes 1..24 each way, uint8 RGB, every filter: catches window/bounds slips the chosen cases miss
fuzz_rng = np.random.RandomState(7)
resize['fuzzU8'] = []
for k in range(40):
    iw, ih, ow, oh = (int(v) for v in fuzz_rng.randint(1, 25, size=4))
    a = fuzz_rng.randint(0, 256, size=(ih, iw, 3)).astype(np.uint8)
    filt = list(FILTERS)[k % 3]
    resize['fuzzU8'].append({'input': enc_input('fuzz', a), 'filter': filt, 'width': ow, 'height': oh,
                             'data': b64(resize_pillow_u8(a, ow, oh, filt))})

# ------------------------------------------------------------------ preprocessing modes (reference pipelines)
CLIP_MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
CLIP_STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def pre_clean(a, size):
    # clean-fid resize.py make_resizer('PIL', quantize_after=False, 'bicubic'): per channel float 'F' resize,
    # clip(0,255); inception_torchscript (resize_inside=False): (x - 128) / 128 in float32
    chans = [resize_pillow_f32(a[:, :, c].astype(np.float32), size, size, 'bicubic').clip(0, 255) for c in range(3)]
    x = torch.from_numpy(np.stack(chans, 0).astype(np.float32))
    return ((x - 128) / 128).numpy()


def pre_legacy_pytorch(a, size):
    # pytorch-fid: ToTensor (/255) -> F.interpolate bilinear align_corners=False -> 2x - 1
    x = torch.from_numpy(a.transpose(2, 0, 1).copy()).float().div(255)
    x = F.interpolate(x[None], size=(size, size), mode='bilinear', align_corners=False)[0]
    return (2 * x - 1).numpy()


def pre_legacy_tf(a, size):
    # torch-fidelity / torchmetrics(antialias=False): float32 [0,255] -> tf1 bilinear -> (x - 128) / 128
    x = torch.from_numpy(tf1_bilinear(a.astype(np.float32).transpose(2, 0, 1), size, size))
    return ((x - 128) / 128).numpy()


def pre_torchmetrics(a, size):
    # torchmetrics >= 1.8 default: float32 [0,255] -> bilinear antialias=True -> (x - 128) / 128
    x = torch.from_numpy(a.transpose(2, 0, 1).copy()).float()
    x = F.interpolate(x[None], size=(size, size), mode='bilinear', align_corners=False, antialias=True)[0]
    return ((x - 128) / 128).numpy()


def clip_common(a, size, crop_offset):
    # torchvision Resize(size, BICUBIC) on a PIL image: short side -> size, long side int(size * long / short)
    h, w = a.shape[:2]
    if w <= h:
        nw, nh = size, int(size * h / w)
    else:
        nw, nh = int(size * w / h), size
    img = Image.fromarray(a, 'RGB')
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), resample=Image.BICUBIC)
    r = np.asarray(img)
    top, left = crop_offset(nh - size), crop_offset(nw - size)
    r = r[top:top + size, left:left + size, :]
    return r


def pre_clip(a, size):
    # open_clip / openai clip: torchvision CenterCrop offset int(round((H - size) / 2.0)), python rounding,
    # ToTensor (float32 / 255), Normalize ((x - mean) / std in float32)
    r = clip_common(a, size, lambda d: int(round(d / 2.0)))
    x = torch.from_numpy(r.transpose(2, 0, 1).copy()).float().div(255)
    x = (x - torch.from_numpy(CLIP_MEAN)[:, None, None]) / torch.from_numpy(CLIP_STD)[:, None, None]
    return x.numpy()


def pre_clip_hf(a, size):
    # transformers CLIPImageProcessor (slow, use_fast=False): centre crop offset (H - size) // 2,
    # rescale in float64 (x * (1/255)) then cast to float32, normalize in float32
    r = clip_common(a, size, lambda d: d // 2)
    x = (r.astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - CLIP_MEAN) / CLIP_STD
    return x.transpose(2, 0, 1).astype(np.float32)


MODES = {'clean': pre_clean, 'legacy-pytorch': pre_legacy_pytorch, 'legacy-tensorflow': pre_legacy_tf,
         'torchmetrics': pre_torchmetrics, 'clip': pre_clip, 'clip-hf': pre_clip_hf}
FULL = {'clean': 299, 'legacy-pytorch': 299, 'legacy-tensorflow': 299, 'torchmetrics': 299, 'clip': 224, 'clip-hf': 224}

pre = {'inputs': {}, 'cases': []}
for name in ('a7x5', 'b13x17', 'c1x9', 'd9x1', 'e40x30', 'g64x48', 'h50x37'):
    pre['inputs'][name] = enc_input(name, inputs[name])
for mode, fn in MODES.items():
    for name, size in (('a7x5', 11), ('b13x17', 6), ('c1x9', 5), ('d9x1', 4), ('e40x30', 9), ('h50x37', 13)):
        out = fn(inputs[name], size).astype(np.float32)
        pre['cases'].append({'mode': mode, 'input': name, 'size': size, 'stride': 1, 'data': b64(out.ravel())})
    for name in ('g64x48', 'h50x37'):
        size = FULL[mode]
        out = fn(inputs[name], size).astype(np.float32)
        assert out.shape == (3, size, size)
        # full-size outputs are ~1 MB each; keep every 151st value (all three channels, all rows hit)
        pre['cases'].append({'mode': mode, 'input': name, 'size': size, 'stride': 151,
                             'data': b64(out.ravel()[::151].copy())})

# COCO-30K protocol pre-resize (GigaGAN / DMD2 resize_and_center_crop): torchvision center_crop to the short
# side (offsets int(round((H - s) / 2.0))), then pillow uint8 LANCZOS to side x side
pre['cocoCrop'] = []
for name, side in (('h50x37', 16), ('e40x30', 11), ('b13x17', 7), ('g64x48', 48), ('c1x9', 3)):
    a = inputs[name]
    h, w = a.shape[:2]
    s_ = min(h, w)
    top, left = int(round((h - s_) / 2.0)), int(round((w - s_) / 2.0))
    img = Image.fromarray(a[top:top + s_, left:left + s_], 'RGB').resize((side, side), Image.LANCZOS)
    pre['cocoCrop'].append({'input': name, 'size': side, 'data': b64(np.asarray(img))})

# ------------------------------------------------------------------ fixtures for decode / convert('RGB')
base = smooth_image(37, 29)
fixtures = {}


def save(name, img, **kw):
    path = os.path.join(FIX, name)
    img.save(path, **kw)
    fixtures[name] = path


save('rgb.png', Image.fromarray(base, 'RGB'))
save('l.png', Image.fromarray(base[:, :, 0], 'L'))
la = Image.merge('LA', [Image.fromarray(base[:, :, 0]), Image.fromarray(base[:, :, 2])])
save('la.png', la)
rgba = Image.merge('RGBA', [Image.fromarray(base[:, :, c]) for c in range(3)] + [Image.fromarray(base[:, :, 1])])
save('rgba.png', rgba)  # alpha is dropped by convert('RGB'), never composited
pal = Image.fromarray(base, 'RGB').quantize(colors=23, method=Image.Quantize.MEDIANCUT)
save('p.png', pal)
pal_t = pal.copy()
pal_t.info['transparency'] = 3
save('p-trns.png', pal_t, transparency=3)
save('p.gif', pal)
save('rgb.ppm', Image.fromarray(base, 'RGB'))
save('l.pgm', Image.fromarray(base[:, :, 1], 'L'))
save('rgb.bmp', Image.fromarray(base, 'RGB'))
save('p.bmp', pal)
save('rgba.bmp', rgba)  # 32-bit BI_RGB: pillow reads it back as BGRX (alpha byte ignored)
save('1bit.bmp', Image.fromarray(base[:, :, 2] > 100).convert('1'))
save('l.bmp', Image.fromarray(base[:, :, 0], 'L'))
save('1bit.png', Image.fromarray(base[:, :, 0] > 127).convert('1'))
i16 = Image.fromarray((base[:, :, 0].astype(np.int32) * 3 - 200).clip(0, 65535).astype(np.uint16))
save('i16.png', i16)  # pillow opens 16-bit grey as mode 'I'; convert('RGB') clips to [0,255]
rgb16 = np.stack([base[:, :, c].astype(np.uint16) * 256 + rng.randint(0, 256, size=base.shape[:2]).astype(np.uint16)
                  for c in range(3)], axis=2)
import zlib  # noqa: E402 (pillow cannot write 16-bit rgb png; write it by hand)
import struct  # noqa: E402


def write_png16(path, arr, color_type=2):
    h, w, _ = arr.shape
    raw = b''.join(b'\x00' + arr[y].astype('>u2').tobytes() for y in range(h))

    def chunk(t, d):
        return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
    data = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 16, color_type, 0, 0, 0)) + \
        chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
    with open(path, 'wb') as f:
        f.write(data)


write_png16(os.path.join(FIX, 'rgb16.png'), rgb16)
fixtures['rgb16.png'] = os.path.join(FIX, 'rgb16.png')
write_png16(os.path.join(FIX, 'la16.png'), np.stack([rgb16[:, :, 0], rgb16[:, :, 2]], axis=2), color_type=4)
fixtures['la16.png'] = os.path.join(FIX, 'la16.png')  # pillow: RGBA from the high bytes
write_png16(os.path.join(FIX, 'rgba16.png'), np.concatenate([rgb16, rgb16[:, :, :1]], axis=2), color_type=6)
fixtures['rgba16.png'] = os.path.join(FIX, 'rgba16.png')
exif = Image.Exif()
exif[0x0112] = 6  # orientation 'rotate 90 cw': pillow ignores it unless ImageOps.exif_transpose is called
save('exif-rot6.jpg', Image.fromarray(smooth_image(21, 13), 'RGB'), quality=90, exif=exif)
save('cmyk.tif', Image.fromarray(base, 'RGB').convert('CMYK'))
save('cmyk.jpg', Image.fromarray(base, 'RGB').convert('CMYK'), quality=92)
save('q90-420.jpg', Image.fromarray(base, 'RGB'), quality=90)
save('q75-444.jpg', Image.fromarray(base, 'RGB'), quality=75, subsampling=0)
save('q95-422.jpg', Image.fromarray(smooth_image(64, 48), 'RGB'), quality=95, subsampling=1)
save('q85-420-odd.jpg', Image.fromarray(smooth_image(61, 45), 'RGB'), quality=85)
save('q50-progressive.jpg', Image.fromarray(smooth_image(33, 47), 'RGB'), quality=50, progressive=True)
save('gray.jpg', Image.fromarray(base[:, :, 1], 'L'), quality=88)
save('rgb.webp', Image.fromarray(base, 'RGB'), lossless=True)
with open(os.path.join(FIX, 'corrupt.jpg'), 'wb') as f:
    full = open(fixtures['q90-420.jpg'], 'rb').read()
    f.write(full[: len(full) // 2])  # truncated: pillow raises 'image file is truncated'
with open(os.path.join(FIX, 'corrupt.png'), 'wb') as f:
    full = open(fixtures['rgb.png'], 'rb').read()
    f.write(full[: len(full) * 2 // 3])
for bad in ('corrupt.jpg', 'corrupt.png'):
    try:
        Image.open(os.path.join(FIX, bad)).convert('RGB')
        raise SystemExit(f'pillow unexpectedly decoded {bad}')
    except OSError:
        pass  # pillow refuses truncated files; decodeImage must too
with open(os.path.join(FIX, 'warn-extraneous.jpg'), 'wb') as f:
    # junk before the SOS marker: libjpeg warns 'extraneous bytes before marker 0xda', pillow decodes anyway
    full = open(fixtures['q75-444.jpg'], 'rb').read()
    sos = full.index(b'\xff\xda')
    f.write(full[:sos] + b'\x00\x13\x37' + full[sos:])
fixtures['warn-extraneous.jpg'] = os.path.join(FIX, 'warn-extraneous.jpg')
with open(os.path.join(FIX, 'not-an-image.png'), 'wb') as f:
    f.write(b'this is not a png file\n')

conv = {'files': []}
for name in sorted(fixtures):
    im = Image.open(fixtures[name])
    mode = im.mode
    rgb = np.asarray(im.convert('RGB'))
    conv['files'].append({'file': name, 'mode': mode, 'width': rgb.shape[1], 'height': rgb.shape[0],
                          'data': b64(rgb)})

meta = {'pillow': PIL.__version__, 'torch': torch.__version__, 'numpy': np.__version__,
        'python': sys.version.split()[0]}
for fname, obj in (('resize.json', resize), ('preprocess.json', pre), ('convert.json', conv)):
    obj['meta'] = meta
    with open(os.path.join(HERE, fname), 'w') as f:
        json.dump(obj, f, separators=(',', ':'))
        f.write('\n')
print('wrote', {k: os.path.getsize(os.path.join(HERE, k)) for k in ('resize.json', 'preprocess.json', 'convert.json')})
