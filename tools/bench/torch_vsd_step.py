#!/usr/bin/python3
"""PyTorch CPU peer of bench/distill/vsd-step.ts: vsdlab's UNet (src/diffusion/unet) re-written layer for layer
in PyTorch, and one SwiftBrush VSD iteration as the official train_swiftbrush.py does it (swiftbrush.md §1.3-1.4):
student forward + backward through the VSD surrogate, frozen teacher and LoRA teacher with CFG on 2B, LoRA-teacher
forward + backward, one Adam step each, gradient clipping, EMA of the student.

Run with Debian's /usr/bin/python3 (torch 1.13). One thread (torch.set_num_threads(1)); times are process CPU
seconds (time.process_time), since the machine is shared.

  /usr/bin/python3 tools/bench/torch_vsd_step.py --steps 4 [--base 16 --patch 2]   # standalone: random weights, prints timings
  /usr/bin/python3 tools/bench/torch_vsd_step.py --serve        # JSON lines on stdin/stdout (used by the TS bench)
"""
import argparse
import copy
import json
import math
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

# the embedded teacher's architecture (experiments/recipes/embedded-teacher.yaml), names as src/diffusion/unet
DEFAULT_CONFIG = dict(inChannels=3, outChannels=3, baseChannels=16, channelMults=[1, 2, 2], resBlocksPerLevel=1,
                      attentionLevels=[False, False, True], heads=4, condDim=64, groups=8)
# the embedded ablation's distill settings (experiments/embedded-ablation.yaml)
DEFAULT_SETTINGS = dict(batchSize=16, guidanceScale=4.5, tMin=20, tMax=980, gradClip=1.0, studentLr=1e-4, emaDecay=0.99,
                        inputTimestep=999, lora=dict(rank=8, alpha=8, targets=['to_q', 'to_v'], lr=1e-3, nullPromptProb=0.1,
                                                      tMin=0, tMax=999))


# ---------------------------------------------------------------------------------------------- the network
class Registry:
    """parameters under vsdlab's names, with how each is laid out there (conv HWIO, linear [in, out])"""

    def __init__(self):
        self.entries = {}

    def add(self, name, param, kind):
        assert name not in self.entries, name
        self.entries[name] = (param, kind)


class LoraSwitch:
    def __init__(self):
        self.enabled = False


class Linear(nn.Module):
    """y = x W + b; with a LoRA adapter attached (PEFT layout): + (alpha/rank) B(A(x)) while the switch is on"""

    def __init__(self, reg, name, d_in, d_out, bias=True):
        super().__init__()
        self.name = name
        self.lin = nn.Linear(d_in, d_out, bias=bias)
        reg.add(name + '.w', self.lin.weight, 'linear')
        if bias:
            reg.add(name + '.b', self.lin.bias, 'vec')
        self.lora_A = None
        self.lora_B = None
        self.switch = None
        self.scaling = 1.0

    def attach_lora(self, rank, alpha, switch):
        self.lora_A = nn.Linear(self.lin.in_features, rank, bias=False)
        self.lora_B = nn.Linear(rank, self.lin.out_features, bias=False)
        nn.init.kaiming_uniform_(self.lora_A.weight, a=math.sqrt(5))
        nn.init.zeros_(self.lora_B.weight)
        self.scaling = alpha / rank
        self.switch = switch

    def forward(self, x):
        y = self.lin(x)
        if self.lora_A is not None and self.switch.enabled:
            y = y + self.lora_B(self.lora_A(x)) * self.scaling
        return y


class Conv(nn.Module):
    """NCHW conv with tfjs 'same' padding: symmetric for stride 1, (0, 1) for the stride-2 downsample"""

    def __init__(self, reg, name, c_in, c_out, k, stride=1):
        super().__init__()
        self.stride = stride
        self.k = k
        self.conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2 if stride == 1 else 0)
        reg.add(name + '.w', self.conv.weight, 'conv')
        reg.add(name + '.b', self.conv.bias, 'vec')

    def forward(self, x):
        if self.stride != 1:
            h, w = x.shape[2], x.shape[3]
            ph = max((math.ceil(h / self.stride) - 1) * self.stride + self.k - h, 0)
            pw = max((math.ceil(w / self.stride) - 1) * self.stride + self.k - w, 0)
            x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2))
        return self.conv(x)


def group_norm(reg, name, c, groups):
    gn = nn.GroupNorm(groups, c, eps=1e-5)
    reg.add(name + '.gamma', gn.weight, 'vec')
    reg.add(name + '.beta', gn.bias, 'vec')
    return gn


def layer_norm(reg, name, c):
    ln = nn.LayerNorm(c, eps=1e-5)
    reg.add(name + '.gamma', ln.weight, 'vec')
    reg.add(name + '.beta', ln.bias, 'vec')
    return ln


class ResBlock(nn.Module):
    def __init__(self, reg, name, c_in, c_out, temb_dim, groups):
        super().__init__()
        self.norm1 = group_norm(reg, name + '.norm1', c_in, groups)
        self.conv1 = Conv(reg, name + '.conv1', c_in, c_out, 3)
        self.time_proj = Linear(reg, name + '.time_proj', temb_dim, c_out)
        self.norm2 = group_norm(reg, name + '.norm2', c_out, groups)
        self.conv2 = Conv(reg, name + '.conv2', c_out, c_out, 3)
        self.skip = None if c_in == c_out else Conv(reg, name + '.skip', c_in, c_out, 1)

    def forward(self, x, temb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.time_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (x if self.skip is None else self.skip(x)) + h


class Attention(nn.Module):
    def __init__(self, reg, name, c, ctx_dim, heads):
        super().__init__()
        self.heads = heads
        self.to_q = Linear(reg, name + '.to_q', c, c, bias=False)
        self.to_k = Linear(reg, name + '.to_k', ctx_dim, c, bias=False)
        self.to_v = Linear(reg, name + '.to_v', ctx_dim, c, bias=False)
        self.to_out = Linear(reg, name + '.to_out', c, c)

    def forward(self, x, ctx):
        b, n, c = x.shape
        m = ctx.shape[1]
        h = self.heads
        dh = c // h
        q = self.to_q(x).view(b, n, h, dh).transpose(1, 2)
        k = self.to_k(ctx).view(b, m, h, dh).transpose(1, 2)
        v = self.to_v(ctx).view(b, m, h, dh).transpose(1, 2)
        w = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * (1 / math.sqrt(dh)), dim=-1)
        return self.to_out(torch.matmul(w, v).transpose(1, 2).reshape(b, n, c))


class Transformer(nn.Module):
    """one BasicTransformerBlock: self-attention, cross-attention to the text, GEGLU feed-forward (tanh GELU)"""

    def __init__(self, reg, name, c, cond_dim, heads, groups):
        super().__init__()
        self.norm = group_norm(reg, name + '.norm', c, groups)
        self.proj_in = Linear(reg, name + '.proj_in', c, c)
        self.ln1 = layer_norm(reg, name + '.ln1', c)
        self.attn1 = Attention(reg, name + '.attn1', c, c, heads)
        self.ln2 = layer_norm(reg, name + '.ln2', c)
        self.attn2 = Attention(reg, name + '.attn2', c, cond_dim, heads)
        self.ln3 = layer_norm(reg, name + '.ln3', c)
        self.ff_proj = Linear(reg, name + '.ff.proj', c, 8 * c)
        self.ff_out = Linear(reg, name + '.ff.out', 4 * c, c)
        self.proj_out = Linear(reg, name + '.proj_out', c, c)

    def forward(self, x, cond):
        b, c, hh, ww = x.shape
        tokens = self.proj_in(self.norm(x).permute(0, 2, 3, 1).reshape(b, hh * ww, c))
        s = self.ln1(tokens)
        tokens = tokens + self.attn1(s, s)
        tokens = tokens + self.attn2(self.ln2(tokens), cond)
        value, gate = self.ff_proj(self.ln3(tokens)).chunk(2, dim=-1)
        tokens = tokens + self.ff_out(value * F.gelu(gate, approximate='tanh'))
        out = self.proj_out(tokens).reshape(b, hh, ww, c).permute(0, 3, 1, 2)
        return x + out


class UNet(nn.Module):
    """src/diffusion/unet/unet.ts, NCHW"""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        reg = self.reg = Registry()
        base = cfg['baseChannels']
        temb = 4 * base
        groups, heads = cfg['groups'], cfg['heads']
        levels = [m * base for m in cfg['channelMults']]
        # space-to-depth patches (unet.ts `patchSize`): the network runs at 1/p the resolution on p² times the channels
        self.patch = p = cfg.get('patchSize') or 1
        self.time_linear1 = Linear(reg, 'time.linear1', base, temb)
        self.time_linear2 = Linear(reg, 'time.linear2', temb, temb)
        self.conv_in = Conv(reg, 'conv_in', cfg['inChannels'] * p * p, base, 3)
        skip_ch = [base]
        ch = base
        self.down = nn.ModuleList()
        for level, c in enumerate(levels):
            for i in range(cfg['resBlocksPerLevel']):
                self.down.append(ResBlock(reg, f'down.{level}.res.{i}', ch, c, temb, groups))
                ch = c
                if cfg['attentionLevels'][level]:
                    self.down.append(Transformer(reg, f'down.{level}.attn.{i}', c, cfg['condDim'], heads, groups))
                skip_ch.append(ch)
            if level < len(levels) - 1:
                self.down.append(Conv(reg, f'down.{level}.downsample', c, c, 3, stride=2))
                skip_ch.append(ch)
        deepest = levels[-1]
        self.mid = nn.ModuleList([ResBlock(reg, 'mid.res.0', ch, deepest, temb, groups),
                                  Transformer(reg, 'mid.attn', deepest, cfg['condDim'], heads, groups),
                                  ResBlock(reg, 'mid.res.1', deepest, deepest, temb, groups)])
        ch = deepest
        self.up = nn.ModuleList()
        for level in range(len(levels) - 1, -1, -1):
            c = levels[level]
            for i in range(cfg['resBlocksPerLevel'] + 1):
                self.up.append(ResBlock(reg, f'up.{level}.res.{i}', ch + skip_ch.pop(), c, temb, groups))
                ch = c
                if cfg['attentionLevels'][level]:
                    self.up.append(Transformer(reg, f'up.{level}.attn.{i}', c, cfg['condDim'], heads, groups))
            if level > 0:
                self.up.append(Conv(reg, f'up.{level}.upsample', c, c, 3))
        self.norm_out = group_norm(reg, 'norm_out', ch, groups)
        self.conv_out = Conv(reg, 'conv_out', ch, cfg['outChannels'] * p * p, 3)
        self.lora_switch = LoraSwitch()

    def timestep_features(self, t):
        """diffusers' Timesteps(flip_sin_to_cos=True, shift 0): [cos(t f), sin(t f)], in float64 as the JS side"""
        half = self.cfg['baseChannels'] // 2
        freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float64) / half)
        angle = t.to(torch.float64)[:, None] * freqs[None, :]
        return torch.cat([torch.cos(angle), torch.sin(angle)], dim=1).float()

    def space_to_depth(self, x):
        """[B, C, H, W] -> [B, p*p*C, H/p, W/p], channel (row, col, c) as layers.ts spaceToDepth in NHWC"""
        p = self.patch
        if p == 1:
            return x
        b, c, h, w = x.shape
        return x.view(b, c, h // p, p, w // p, p).permute(0, 3, 5, 1, 2, 4).reshape(b, p * p * c, h // p, w // p)

    def depth_to_space(self, x):
        """the inverse of space_to_depth"""
        p = self.patch
        if p == 1:
            return x
        b, cc, h, w = x.shape
        c = cc // (p * p)
        return x.view(b, p, p, c, h, w).permute(0, 3, 4, 1, 5, 2).reshape(b, c, h * p, w * p)

    def forward(self, x, t, cond):
        temb = self.time_linear2(F.silu(self.time_linear1(self.timestep_features(t))))
        h = self.conv_in(self.space_to_depth(x))
        skips = [h]
        for block in self.down:
            if isinstance(block, ResBlock):
                h = block(h, temb)
                skips.append(h)
            elif isinstance(block, Transformer):
                h = block(h, cond)
                skips[-1] = h
            else:
                h = block(h)
                skips.append(h)
        h = self.mid[0](h, temb)
        h = self.mid[1](h, cond)
        h = self.mid[2](h, temb)
        for block in self.up:
            if isinstance(block, ResBlock):
                h = block(torch.cat([h, skips.pop()], dim=1), temb)
            elif isinstance(block, Transformer):
                h = block(h, cond)
            else:
                h = block(F.interpolate(h, scale_factor=2, mode='nearest'))
        return self.depth_to_space(self.conv_out(F.silu(self.norm_out(h))))

    # ------------------------------------------------------------------ LoRA (q and v projections, as PEFT)
    def lora_layers(self, targets):
        return [m for m in self.modules() if isinstance(m, Linear) and any(m.name.endswith('.' + t) for t in targets)]

    def attach_lora(self, rank, alpha, targets):
        for m in self.lora_layers(targets):
            m.attach_lora(rank, alpha, self.lora_switch)
        self.lora_switch.enabled = True
        return [p for m in self.lora_layers(targets) for p in (m.lora_A.weight, m.lora_B.weight)]

    def load_vsdlab(self, tensors, lora_targets=None):
        """copies vsdlab's weights (HWIO convs, [in, out] linears) into this network; returns how many were copied"""
        with torch.no_grad():
            for name, (param, kind) in self.reg.entries.items():
                src = tensors[name]
                if kind == 'conv':
                    src = src.permute(3, 2, 0, 1)
                elif kind == 'linear':
                    src = src.t()
                assert tuple(src.shape) == tuple(param.shape), (name, tuple(src.shape), tuple(param.shape))
                param.copy_(src)
            if lora_targets is not None:
                for m in self.lora_layers(lora_targets):
                    m.lora_A.weight.copy_(tensors[m.name + '.w.lora_a'].t())
                    m.lora_B.weight.copy_(tensors[m.name + '.w.lora_b'].t())
        return len(self.reg.entries)


def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    (n,) = struct.unpack('<Q', raw[:8])
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        a, b = e['data_offsets']
        dtype = {'F32': torch.float32, 'I32': torch.int32}[e['dtype']]
        out[name] = torch.frombuffer(bytearray(raw[8 + n + a:8 + n + b]), dtype=dtype).reshape(e['shape']).clone()
    return out


# ---------------------------------------------------------------------------------------------- the VSD step
def alphas_cumprod():
    """SD's scaled-linear schedule, accumulated in float64 and rounded to float32 (src/diffusion/schedule.ts)"""
    lo, hi = math.sqrt(0.00085), math.sqrt(0.012)
    betas = torch.tensor([(lo + (hi - lo) * i / 999) ** 2 for i in range(1000)], dtype=torch.float64)
    return torch.cumprod(1 - betas, 0).float()


class VsdTrainer:
    """one student step then one LoRA-teacher step, as train_swiftbrush.py (swiftbrush.md §1.3-1.4)"""

    def __init__(self, teacher, s, image_shape, text_len, seed=0):
        self.s = s
        self.image_shape = image_shape  # (C, H, W)
        self.acp = alphas_cumprod()
        g = torch.Generator().manual_seed(seed)
        cfg = teacher.cfg
        # frozen teacher = LoRA teacher with the adapter off (one network, as the official code)
        self.student = copy.deepcopy(teacher)  # init from the teacher
        for p in self.student.parameters():
            p.requires_grad_(True)
        self.teacher = teacher
        for p in teacher.parameters():
            p.requires_grad_(False)
        self.lora_params = teacher.attach_lora(s['lora']['rank'], s['lora']['alpha'], s['lora']['targets'])
        self.ema = [p.detach().clone() for p in self.student.parameters()]
        self.opt_student = torch.optim.Adam(self.student.parameters(), lr=s['studentLr'], betas=(0.9, 0.999), eps=1e-8)
        self.opt_lora = torch.optim.Adam(self.lora_params, lr=s['lora']['lr'], betas=(0.9, 0.999), eps=1e-8)
        # a fixed random "text encoder": precomputed prompt embeddings (SwiftBrush's prepare.py does the same)
        self.prompt_bank = torch.randn(64, text_len, cfg['condDim'], generator=g)
        self.null = torch.randn(1, text_len, cfg['condDim'], generator=g)
        self.step_index = 0

    def cfg_pred(self, xt, t, cond, lora_on):
        self.teacher.lora_switch.enabled = lora_on
        b = xt.shape[0]
        out = self.teacher(torch.cat([xt, xt]), torch.cat([t, t]), torch.cat([self.null.expand(b, -1, -1), cond]))
        uncond, c = out.chunk(2)
        return uncond + self.s['guidanceScale'] * (c - uncond)

    def step(self):
        s = self.s
        b = s['batchSize']
        self.step_index += 1
        cond = self.prompt_bank[torch.randint(0, self.prompt_bank.shape[0], (b,))]
        z = torch.randn(b, *self.image_shape)
        t_in = torch.full((b,), s['inputTimestep'], dtype=torch.long)
        abar_T = self.acp[s['inputTimestep']].item()
        alpha_T, sigma_T = math.sqrt(abar_T), math.sqrt(1 - abar_T)
        # student: x0 = (z - σ_T ε̂) / α_T (paper's eps parameterization)
        x0 = (z - sigma_T * self.student(z, t_in, cond)) / alpha_T
        noise = torch.randn_like(x0)
        t = torch.randint(s['tMin'], s['tMax'] + 1, (b,))
        a = self.acp[t].view(b, 1, 1, 1)
        with torch.no_grad():
            xt = a.sqrt() * x0.detach() + (1 - a).sqrt() * noise
            teacher_pred = self.cfg_pred(xt, t, cond, False)
            lora_pred = self.cfg_pred(xt, t, cond, True)
            grad = torch.nan_to_num((1 - a) * (teacher_pred - lora_pred))
            target = (x0 - grad).detach()
        loss_vsd = 0.5 * F.mse_loss(x0, target, reduction='mean')
        self.opt_student.zero_grad(set_to_none=True)
        loss_vsd.backward()
        gn = torch.nn.utils.clip_grad_norm_(self.student.parameters(), s['gradClip'])
        self.opt_student.step()
        d = min(self.step_index / (9 + self.step_index), s['emaDecay']) if self.step_index > 1 else 0.0
        with torch.no_grad():
            for e, p in zip(self.ema, self.student.parameters()):
                e.mul_(d).add_(p, alpha=1 - d)
        # LoRA teacher on the detached student output
        x0d = x0.detach()
        noise_l = torch.randn_like(x0d)
        tl = torch.randint(s['lora']['tMin'], s['lora']['tMax'] + 1, (b,))
        al = self.acp[tl].view(b, 1, 1, 1)
        xtl = al.sqrt() * x0d + (1 - al).sqrt() * noise_l
        cond_l = self.null.expand(b, -1, -1) if torch.rand(()).item() < s['lora']['nullPromptProb'] else cond
        self.teacher.lora_switch.enabled = True
        pred = self.teacher(xtl, tl, cond_l)
        loss_lora = F.mse_loss(al.sqrt() * pred, al.sqrt() * noise_l, reduction='mean')
        self.opt_lora.zero_grad(set_to_none=True)
        loss_lora.backward()
        gnl = torch.nn.utils.clip_grad_norm_(self.lora_params, s['gradClip'])
        self.opt_lora.step()
        return dict(loss_vsd=loss_vsd.item(), grad_norm=gn.item(), loss_lora=loss_lora.item(), grad_norm_lora=gnl.item())


# ---------------------------------------------------------------------------------------------- measuring
def cpu_time(fn):
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def time_steps(trainer, n):
    """per-step CPU seconds of n steps (the caller drops the warm-up)"""
    return [cpu_time(trainer.step) for _ in range(n)]


def time_forward(net, batch, image_shape, text_len, reps):
    net.lora_switch.enabled = False
    x = torch.randn(batch, *image_shape)
    t = torch.randint(0, 1000, (batch,))
    cond = torch.randn(batch, text_len, net.cfg['condDim'])
    with torch.no_grad():
        net(x, t, cond)
        return [cpu_time(lambda: net(x, t, cond)) for _ in range(reps)]


def time_peaks():
    """plain forward conv2d and matMul, best per-call CPU time (the same shapes as the TS side)"""
    def best(fn, reps=5):
        fn()
        return min(cpu_time(fn) for _ in range(reps))
    with torch.no_grad():
        a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
        mm = 2 * 1024 ** 3 / best(lambda: torch.matmul(a, b)) / 1e9
        x, w = torch.randn(8, 64, 32, 32), torch.randn(64, 64, 3, 3)
        conv = 2 * 8 * 32 * 32 * 9 * 64 * 64 / best(lambda: F.conv2d(x, w, padding=1)) / 1e9
    return dict(matmul_gflops=mm, conv_gflops=conv)


def count_params(module, params=None):
    return sum(p.numel() for p in (params if params is not None else module.parameters()))


def serve():
    """JSON lines: one command per line on stdin, one answer per line on stdout"""
    print(json.dumps(dict(torch=torch.__version__, threads=torch.get_num_threads())), flush=True)
    state = {}
    for line in sys.stdin:
        c = json.loads(line)
        cmd = c['cmd']
        if cmd == 'load':
            cfg, s = c['config'], c['settings']
            tensors = read_safetensors(c['weights'])
            net = UNet(cfg)
            lora_check = net.attach_lora(s['lora']['rank'], s['lora']['alpha'], s['lora']['targets'])
            net.load_vsdlab(tensors, s['lora']['targets'])
            # the same inputs through the same weights: LoRA on (random B) and off
            with torch.no_grad():
                x = tensors['check/x'].permute(0, 3, 1, 2)
                t = tensors['check/t'].long()
                cond = tensors['check/cond']
                diffs = {}
                for key, on in (('lora_on', True), ('lora_off', False)):
                    net.lora_switch.enabled = on
                    ours = net(x, t, cond).permute(0, 2, 3, 1)
                    ref = tensors[f'check/out_{key}']
                    diffs[key] = dict(max_abs_diff=(ours - ref).abs().max().item(), max_abs_ref=ref.abs().max().item())
            base_params = count_params(net) - count_params(net, lora_check)
            # the bench's teacher: the same weights, a fresh adapter attached by the trainer
            teacher = UNet(cfg)
            teacher.load_vsdlab(tensors)
            state.update(cfg=cfg, settings=s, teacher=teacher, image_shape=tuple(c['imageShape']), text_len=c['textLen'])
            trainer = VsdTrainer(copy.deepcopy(teacher), s, state['image_shape'], state['text_len'])
            print(json.dumps(dict(params=base_params, student_params=count_params(trainer.student),
                                  lora_params=count_params(trainer.teacher, trainer.lora_params), check=diffs)), flush=True)
        elif cmd == 'forward':
            secs = time_forward(state['teacher'], c['batch'], state['image_shape'], state['text_len'], c['reps'])
            print(json.dumps(dict(seconds=secs)), flush=True)
        elif cmd == 'steps':
            # a fresh student, LoRA and optimisers per round, as the TS side's fresh distill() run
            trainer = VsdTrainer(copy.deepcopy(state['teacher']), state['settings'], state['image_shape'], state['text_len'], seed=c.get('seed', 0))
            records = []
            secs = []
            for _ in range(c['n']):
                t0 = time.process_time()
                records.append(trainer.step())
                secs.append(time.process_time() - t0)
            print(json.dumps(dict(seconds=secs, last=records[-1])), flush=True)
        elif cmd == 'flops':
            # torch's own count of the forward's conv / matmul FLOPs, to cross-check the TS count from tf.profile
            net = state['teacher']
            net.lora_switch.enabled = False
            b = c['batch']
            x = torch.randn(b, *state['image_shape'])
            with torch.no_grad(), torch.profiler.profile(with_flops=True) as prof:
                net(x, torch.randint(0, 1000, (b,)), torch.randn(b, state['text_len'], state['cfg']['condDim']))
            gemm = ('aten::conv2d', 'aten::addmm', 'aten::mm', 'aten::bmm')
            print(json.dumps(dict(forward_flops=sum(e.flops for e in prof.events() if e.name in gemm and e.flops))), flush=True)
        elif cmd == 'peaks':
            print(json.dumps(time_peaks()), flush=True)
        else:
            print(json.dumps(dict(error=f'unknown command {cmd}')), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--serve', action='store_true')
    ap.add_argument('--steps', type=int, default=4)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--size', type=int, default=32)
    ap.add_argument('--base', type=int, default=DEFAULT_CONFIG['baseChannels'])
    ap.add_argument('--patch', type=int, default=1, help='space-to-depth patch size (unet.ts patchSize)')
    args = ap.parse_args()
    if args.serve:
        serve()
        return
    torch.manual_seed(0)
    s = dict(DEFAULT_SETTINGS, batchSize=args.batch)
    cfg = dict(DEFAULT_CONFIG, baseChannels=args.base, patchSize=args.patch)
    teacher = UNet(cfg)
    print(f'torch {torch.__version__}, threads {torch.get_num_threads()}; UNet params {count_params(teacher)}')
    trainer = VsdTrainer(teacher, s, (cfg['inChannels'], args.size, args.size), 24)
    print(f'LoRA params {count_params(trainer.teacher, trainer.lora_params)}')
    secs = time_steps(trainer, args.steps)
    print('CPU s per step (first is warm-up): ' + ', '.join(f'{x:.3f}' for x in secs))


if __name__ == '__main__':
    main()
