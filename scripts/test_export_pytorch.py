#!/usr/bin/env python3
"""Checks scripts/export_pytorch.py on random state_dicts (NumPy only):
python3 scripts/test_export_pytorch.py"""

import json
import os
import struct
import sys
from collections import OrderedDict

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_pytorch as ex  # noqa: E402

rng = np.random.default_rng(0)


def r(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def bn(prefix, c, state):
    state[f"{prefix}.weight"] = r(c)
    state[f"{prefix}.bias"] = r(c)
    state[f"{prefix}.running_mean"] = r(c)
    state[f"{prefix}.running_var"] = np.abs(r(c)) + 0.5
    state[f"{prefix}.num_batches_tracked"] = np.array(3)


def read_back(blob):
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    data = blob[8 + n:]
    meta = header.pop("__metadata__")
    out = {}
    for name, t in header.items():
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype="<f4").reshape(t["shape"])
    return out, meta


def test_mlp():
    state = OrderedDict([("0.weight", r(16, 784)), ("0.bias", r(16)),
                         ("2.weight", r(10, 16)), ("2.bias", r(10))])
    tensors, meta = ex.convert(state, None, (1, 28, 28))
    assert meta["layers.0"] == "fc" and meta["layers.1"] == "fc" and meta["input"] == "1,28,28"
    back, meta2 = read_back(ex.safetensors_bytes(tensors, meta))
    assert meta2 == meta
    assert np.array_equal(back["layers.1.weight"], state["2.weight"])
    assert struct.unpack("<Q", ex.safetensors_bytes(tensors, meta)[:8])[0] % 8 == 0


def test_conv_bn_pool():
    state = OrderedDict()
    state["features.0.weight"] = r(4, 3, 3, 3)  # no bias: zeros
    bn("features.1", 4, state)
    state["features.4.weight"] = r(8, 4, 3, 3)
    state["features.4.bias"] = r(8)
    state["classifier.weight"] = r(10, 8 * 4 * 4)
    state["classifier.bias"] = r(10)
    state = OrderedDict((k, v) for k, v in state.items() if not k.endswith("num_batches_tracked"))
    tensors, meta = ex.convert(state, "C4b-M-C8-M-FC10", (3, 16, 16))
    assert meta["layers.0"] == "conv k=3 stride=1 pad=1 pool=max", meta
    assert meta["layers.1"] == "conv k=3 stride=1 pad=1 pool=max"
    assert meta["layers.2"] == "fc"
    assert np.array_equal(tensors["layers.0.bias"], np.zeros(4, np.float32))
    assert np.array_equal(tensors["layers.0.bn.gamma"], state["features.1.weight"])
    assert np.array_equal(tensors["layers.0.bn.running_var"], state["features.1.running_var"])
    back, _ = read_back(ex.safetensors_bytes(tensors, meta))
    assert np.array_equal(back["layers.2.weight"], state["classifier.weight"])


def test_residual():
    state = OrderedDict()
    state["conv1.weight"] = r(4, 3, 3, 3)
    bn("bn1", 4, state)
    # identity block, then a stride-2 block with a projection
    for name, cin, cout, proj in [("layer1.0", 4, 4, False), ("layer2.0", 4, 8, True)]:
        state[f"{name}.conv1.weight"] = r(cout, cin, 3, 3)
        bn(f"{name}.bn1", cout, state)
        state[f"{name}.conv2.weight"] = r(cout, cout, 3, 3)
        bn(f"{name}.bn2", cout, state)
        if proj:
            state[f"{name}.downsample.0.weight"] = r(cout, cin, 1, 1)
            bn(f"{name}.downsample.1", cout, state)
    state["fc.weight"] = r(10, 8)
    state["fc.bias"] = r(10)
    state = OrderedDict((k, v) for k, v in state.items() if not k.endswith("num_batches_tracked"))
    tensors, meta = ex.convert(state, "C4b-R4-R8s2-G-FC10", (3, 8, 8))
    assert meta["layers.2"] == "conv k=3 stride=1 pad=1 pool=none shortcut_from=0", meta
    assert meta["layers.3"] == "conv k=3 stride=2 pad=1 pool=none"
    assert meta["layers.4"] == "conv k=3 stride=1 pad=1 pool=global shortcut_from=2"
    assert meta["layers.4.shortcut"] == "conv k=1 stride=2 pad=0"
    assert tensors["layers.4.shortcut.weight"].shape == (8, 4, 1, 1)
    assert meta["layers.5"] == "fc"


def test_errors():
    state = OrderedDict([("0.weight", r(16, 784)), ("0.bias", r(16))])
    for arch, shape in [("FC16-FC10", (1, 28, 28)), ("FC8", (1, 28, 28)), ("C4-FC10", (1, 4, 4))]:
        try:
            ex.convert(state, arch, shape)
        except ValueError:
            continue
        raise AssertionError(f"{arch} should be refused")


if __name__ == "__main__":
    for name, f in list(globals().items()):
        if name.startswith("test_"):
            f()
            print(f"ok {name}")
