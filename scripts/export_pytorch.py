#!/usr/bin/env python3
"""Export a PyTorch state_dict to the insitu model layout (docs/models.md).

    python3 scripts/export_pytorch.py model.pt --arch cnn_mnist --input 1,28,28 -o cnn.safetensors
    python3 scripts/export_pytorch.py mlp.npz --input 1,28,28 -o mlp.safetensors

The input is a file torch.load can read (a state_dict or a module; needs torch) or a .npz of
the state_dict's arrays under their PyTorch names (needs only NumPy). `convert` is the pure
conversion (names -> arrays) and `write_safetensors` the NumPy-only writer.
"""

import argparse
import json
import re
import struct
import sys
from collections import OrderedDict

import numpy as np

NAMED = {
    "vgg8": "C128-C128-M-C256-C256-M-C512-C512-M-FC1024-FC10",
    "vgg16": "C64b-C64b-M-C128b-C128b-M-C256b-C256b-C256b-M-C512b-C512b-C512b-M"
    "-C512b-C512b-C512b-M-FC10",
    "resnet18": "C64b-R64-R64-R128s2-R128-R256s2-R256-R512s2-R512-G-FC10",
    "resnet20": "C16b-R16-R16-R16-R32s2-R32-R32-R64s2-R64-R64-G-FC10",
    "cnn_mnist": "C16-C16-M-C32-C32-M-FC64-FC10",
}

CONV = re.compile(r"^C(\d+)(?:k(\d+))?(?:s(\d+))?(?:p(\d+))?(b?)$")
RES = re.compile(r"^R(\d+)(?:s(\d+))?$")
FC = re.compile(r"^FC(\d+)$")
POOLS = {"M": "max", "A": "avg", "G": "global"}


def parse_arch(arch):
    """Tokens of a network.arch string as tuples: ('conv', out, k, s, p, bn), ('res', out, s),
    ('fc', out) or ('pool', kind)."""
    text = NAMED.get(arch.strip().lower(), arch.strip())
    out = []
    for tok in text.split("-"):
        tok = tok.strip()
        if tok in POOLS:
            out.append(("pool", POOLS[tok]))
        elif FC.match(tok):
            out.append(("fc", int(FC.match(tok).group(1))))
        elif RES.match(tok):
            m = RES.match(tok)
            out.append(("res", int(m.group(1)), int(m.group(2) or 1)))
        elif CONV.match(tok):
            m = CONV.match(tok)
            k = int(m.group(2) or 3)
            s = int(m.group(3) or 1)
            p = int(m.group(4)) if m.group(4) is not None else k // 2
            out.append(("conv", int(m.group(1)), k, s, p, m.group(5) == "b"))
        else:
            raise ValueError(f"arch token {tok!r} is not C<n>[k][s][p][b], R<n>[s], FC<n>, M, A or G")
    return out


def modules(state):
    """The state_dict grouped by module (the name before the last dot), in order, each as
    (prefix, kind, {param: array}) with kind 'conv', 'linear' or 'bn'."""
    groups = OrderedDict()
    for name, value in state.items():
        prefix, _, param = name.rpartition(".")
        groups.setdefault(prefix, OrderedDict())[param] = np.asarray(value)
    out = []
    for prefix, params in groups.items():
        if "running_mean" in params:
            kind = "bn"
        elif "weight" in params and params["weight"].ndim == 4:
            kind = "conv"
        elif "weight" in params and params["weight"].ndim == 2:
            kind = "linear"
        else:
            raise ValueError(f"module {prefix or '(root)'!r} with {list(params)} is not a Conv2d, "
                             "BatchNorm2d or Linear")
        out.append((prefix, kind, params))
    return out


class _Stream:
    """Takes the state_dict's modules one by one, checking their kind."""

    def __init__(self, mods):
        self.mods = list(mods)
        self.i = 0

    def take(self, kind, what):
        if self.i >= len(self.mods):
            raise ValueError(f"the state_dict has no module left for {what} (expected a {kind})")
        prefix, k, params = self.mods[self.i]
        if k != kind:
            raise ValueError(f"{what}: expected a {kind}, the state_dict's next module "
                             f"{prefix!r} is a {k}")
        self.i += 1
        return prefix, params

    def peek(self):
        return self.mods[self.i][1] if self.i < len(self.mods) else None

    def done(self):
        if self.i < len(self.mods):
            left = [p for p, _, _ in self.mods[self.i:]]
            raise ValueError(f"modules left over after the arch: {left}")


def _f32(a):
    return np.ascontiguousarray(np.asarray(a, dtype=np.float32))


def _conv(out, prefix, params, what, c_out, k):
    w = _f32(params["weight"])
    if w.shape[0] != c_out or w.shape[2] != k or w.shape[3] != k:
        raise ValueError(f"{what}: weight shape {w.shape} is not [{c_out}, C_in, {k}, {k}]")
    out[f"{prefix}.weight"] = w
    out[f"{prefix}.bias"] = _f32(params["bias"]) if "bias" in params else np.zeros(c_out, np.float32)
    return w.shape[1]


def _bn(out, prefix, params, c):
    names = {"gamma": "weight", "beta": "bias", "running_mean": "running_mean",
             "running_var": "running_var"}
    for ours, theirs in names.items():
        v = _f32(params[theirs])
        if v.shape != (c,):
            raise ValueError(f"{prefix}: batch norm {theirs} has shape {v.shape}, expected ({c},)")
        out[f"{prefix}.bn.{ours}"] = v


def convert(state, arch=None, input_shape=(1, 28, 28)):
    """Converts a state_dict (name -> array, in registration order) to insitu tensors and
    metadata: returns (tensors: dict name -> float32 array, metadata: dict str -> str).
    `arch` is the network.arch string (None: an all-Linear MLP)."""
    mods = modules(state)
    if arch is None:
        if any(k != "linear" for _, k, _ in mods):
            raise ValueError("the state_dict has conv or batch norm modules: pass --arch")
        arch = "-".join(f"FC{p['weight'].shape[0]}" for _, _, p in mods)
    tokens = parse_arch(arch)
    stream = _Stream(mods)
    tensors = OrderedDict()
    meta = {"format": "insitu-cnn", "input": ",".join(str(int(v)) for v in input_shape)}
    descs = []  # per layer: [description, pool]
    c, h, w = (int(v) for v in input_shape)
    flat = None  # inputs of the next fc (None until the first fc)

    def conv_out(size, k, s, p):
        return (size + 2 * p - k) // s + 1

    for tok in tokens:
        kind = tok[0]
        if kind == "pool":
            if not descs or descs[-1][0] == "fc":
                raise ValueError("pooling must follow a conv layer")
            descs[-1][1] = tok[1]
            if tok[1] == "global":
                h, w = 1, 1
            else:
                h, w = h // 2, w // 2
        elif kind == "conv":
            _, n, k, s, p, bn = tok
            l = len(descs)
            prefix, params = stream.take("conv", f"layer {l} (C{n})")
            cin = _conv(tensors, f"layers.{l}", params, f"layer {l}", n, k)
            if cin != c:
                raise ValueError(f"layer {l}: conv takes {cin} channels, gets {c}")
            if bn:
                bprefix, bparams = stream.take("bn", f"layer {l}'s batch norm")
                _bn(tensors, f"layers.{l}", bparams, n)
            descs.append([f"conv k={k} stride={s} pad={p}", "none"])
            c, h, w = n, conv_out(h, k, s, p), conv_out(w, k, s, p)
        elif kind == "res":
            _, n, s = tok
            if not descs:
                raise ValueError("a residual block needs a layer before it (a stem)")
            frm = len(descs) - 1
            first = len(descs)
            _, p1 = stream.take("conv", f"layer {first} (R{n} conv1)")
            if _conv(tensors, f"layers.{first}", p1, f"layer {first}", n, 3) != c:
                raise ValueError(f"layer {first}: conv1 takes the wrong number of channels")
            _, b1 = stream.take("bn", f"layer {first} (R{n} bn1)")
            _bn(tensors, f"layers.{first}", b1, n)
            descs.append([f"conv k=3 stride={s} pad=1", "none"])
            second = first + 1
            _, p2 = stream.take("conv", f"layer {second} (R{n} conv2)")
            _conv(tensors, f"layers.{second}", p2, f"layer {second}", n, 3)
            _, b2 = stream.take("bn", f"layer {second} (R{n} bn2)")
            _bn(tensors, f"layers.{second}", b2, n)
            desc = f"conv k=3 stride=1 pad=1 shortcut_from={frm}"
            needs_proj = s != 1 or c != n
            if needs_proj:
                sc = f"layers.{second}.shortcut"
                _, pp = stream.take("conv", f"layer {second}'s shortcut projection")
                _conv(tensors, sc, pp, f"layer {second} shortcut", n, 1)
                _, pb = stream.take("bn", f"layer {second}'s shortcut batch norm")
                _bn(tensors, sc, pb, n)
                meta[f"layers.{second}.shortcut"] = f"conv k=1 stride={s} pad=0"
            descs.append([desc, "none"])
            c, h, w = n, conv_out(h, 3, s, 1), conv_out(w, 3, s, 1)
        else:  # fc
            _, n = tok
            l = len(descs)
            prefix, params = stream.take("linear", f"layer {l} (FC{n})")
            wt = _f32(params["weight"])
            fan_in = c * h * w if flat is None else flat
            if wt.shape != (n, fan_in):
                raise ValueError(f"layer {l}: Linear weight shape {wt.shape}, expected ({n}, {fan_in})")
            tensors[f"layers.{l}.weight"] = wt
            tensors[f"layers.{l}.bias"] = (_f32(params["bias"]) if "bias" in params
                                           else np.zeros(n, np.float32))
            descs.append(["fc", None])
            flat = n
    stream.done()
    for l, (desc, pool) in enumerate(descs):
        if desc == "fc":
            meta[f"layers.{l}"] = "fc"
        else:
            head, _, tail = desc.partition(" shortcut_from=")
            meta[f"layers.{l}"] = f"{head} pool={pool}" + (f" shortcut_from={tail}" if tail else "")
    return tensors, meta


def safetensors_bytes(tensors, meta):
    """The safetensors encoding of float32 `tensors` with string metadata (NumPy only)."""
    header = {"__metadata__": dict(meta)}
    blobs, offset = [], 0
    for name, a in tensors.items():
        raw = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def write_safetensors(path, tensors, meta):
    with open(path, "wb") as f:
        f.write(safetensors_bytes(tensors, meta))


def load_state(path):
    """A state_dict as name -> numpy array, in order."""
    if path.endswith(".npz"):
        with np.load(path) as z:
            return OrderedDict((k, z[k]) for k in z.files)
    import torch  # only needed for PyTorch files

    obj = torch.load(path, map_location="cpu")
    if hasattr(obj, "state_dict"):
        obj = obj.state_dict()
    return OrderedDict((k, v.detach().cpu().numpy()) for k, v in obj.items()
                       if not k.endswith("num_batches_tracked"))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("state", help="PyTorch file (state_dict or module) or .npz of the state_dict")
    ap.add_argument("--arch", help="network.arch of the model (default: all-Linear MLP)")
    ap.add_argument("--input", default="1,28,28", help="C,H,W of one input image")
    ap.add_argument("-o", "--out", required=True, help="output .safetensors")
    a = ap.parse_args(argv)
    state = load_state(a.state)
    state = OrderedDict((k, v) for k, v in state.items() if not k.endswith("num_batches_tracked"))
    shape = tuple(int(v) for v in a.input.split(","))
    if len(shape) != 3:
        sys.exit("--input must be C,H,W")
    try:
        tensors, meta = convert(state, a.arch, shape)
    except ValueError as e:
        sys.exit(f"error: {e}")
    write_safetensors(a.out, tensors, meta)
    print(f"wrote {a.out}: {len([k for k in meta if k.startswith('layers.') and k.count('.') == 1])} "
          f"layers, {sum(t.size for t in tensors.values())} values")


if __name__ == "__main__":
    main()
