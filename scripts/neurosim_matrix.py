#!/usr/bin/env python3
"""Regenerate the NeuroSim reference figures of the chip cost model's validation matrix.

Usage:
    scripts/neurosim_matrix.py --v14 DIR --v21 DIR [--cases ID,ID] [--out tests/fixtures/neurosim]

DIR is a built copy of the C++ estimator of DNN+NeuroSim (V1.4: `Inference_pytorch/NeuroSIM`,
V2.1: `Training_pytorch/NeuroSIM`) whose `Param.cpp` reads the fields the matrix varies from
environment variables `NS_<field>` (memcelltype, technode, cellBit, levelOutput, levelOutputAG,
pipeline, novelMapping, speedUpDegree, numColMuxed, trainingEstimation), falling back to the
default written in the file, plus the three fixes docs/cost-model.md lists (bounded tile copies
under novel mapping, at least one weight-gradient array, floating-point global-buffer core count).
`--prepare` applies exactly those edits to a fresh copy (pass the copies' directories) and builds.

`--v21-rowavg DIR` names a third copy of V2.1, prepared (with `--prepare`) with one more edit: its
programming statistics average the depression columns over the rows that have depressions (the
code divides the columns of every row by the rows that have only depressions, see
docs/cost-model.md). The training cases are run there too and its weight-update energy is stored
as `wu_energy_pj_epoch_rowavg`.

For every case the script writes the network (NetWork.csv), uniform random weights in [-1, 1]
and 0/1 input bit matrices with fixed densities (0.5 for the first layer, 0.25 after it) from
a fixed seed, runs the estimator, parses its summary and appends one record to
`<out>/matrix.json`: version, commit, settings, inputs and figures. The Rust test
`tests/chip/neurosim_matrix.rs` reads that file and compares the cost model with it.
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile

COMMITS = {
    "V1.4": "ac828e6",  # neurosim/DNN_NeuroSim_V1.4, HEAD of the snapshot used
    "V2.1": "18289cb",  # neurosim/DNN_NeuroSim_V2.1
}
MEMCELL = {"sram": 1, "rram": 2, "fefet": 3}
DENSITY_FIRST = 0.5
DENSITY_REST = 0.25
SEED = 1

# (id, version, network, settings). Settings not named take the version's Param.cpp default.
# V1.4 defaults: 8-bit weights and inputs, 128x128 subarrays, 8 columns per ADC, 5-bit ADC,
# novel mapping, pipelined with speed-up degree 8, R_on 100 kOhm, R_off 1.7 MOhm, 2 V writes.
# V2.1 defaults: FeFET 5-bit cells, 5-bit weights, 8-bit inputs, 32 nm, 6-bit ADC, 6-bit
# transposed ADC, layer-by-layer, no speed-up, R_on 240 kOhm, on/off 100, batch 200 x 250.
CASES = [
    ("mlp_sram22_pipe", "V1.4", "mlp", dict(memory="sram", node=22, cell_bits=1, adc_bits=5, parallel_rows=128, pipelined=True)),
    ("mlp_sram22_lbl", "V1.4", "mlp", dict(memory="sram", node=22, cell_bits=1, adc_bits=5, parallel_rows=128, pipelined=False)),
    ("mlp_rram22_c2", "V1.4", "mlp", dict(memory="rram", node=22, cell_bits=2, adc_bits=5, parallel_rows=128, pipelined=False)),
    ("mlp_rram22_adc3_p32", "V1.4", "mlp", dict(memory="rram", node=22, cell_bits=1, adc_bits=3, parallel_rows=32, pipelined=False)),
    ("mlp_fefet32", "V1.4", "mlp", dict(memory="fefet", node=32, cell_bits=2, adc_bits=5, parallel_rows=128, pipelined=False)),
    ("mlp_sram65", "V1.4", "mlp", dict(memory="sram", node=65, cell_bits=1, adc_bits=5, parallel_rows=128, pipelined=False)),
    ("mlp_sram32_conv", "V1.4", "mlp", dict(memory="sram", node=32, cell_bits=1, adc_bits=5, parallel_rows=128, pipelined=False, novel=False)),
    ("vgg8_sram22_pipe", "V1.4", "vgg8", dict(memory="sram", node=22, cell_bits=1, adc_bits=5, parallel_rows=128, pipelined=True)),
    ("vgg8_rram22_c2", "V1.4", "vgg8", dict(memory="rram", node=22, cell_bits=2, adc_bits=5, parallel_rows=128, pipelined=False)),
    ("vgg8_fefet32", "V1.4", "vgg8", dict(memory="fefet", node=32, cell_bits=2, adc_bits=4, parallel_rows=128, pipelined=False)),
    ("vgg8_sram65", "V1.4", "vgg8", dict(memory="sram", node=65, cell_bits=1, adc_bits=5, parallel_rows=128, pipelined=False)),
    ("resnet_rram22", "V1.4", "resnet", dict(memory="rram", node=22, cell_bits=2, adc_bits=5, parallel_rows=128, pipelined=False)),
    ("resnet_sram32_pipe", "V1.4", "resnet", dict(memory="sram", node=32, cell_bits=1, adc_bits=5, parallel_rows=128, pipelined=True)),
    ("mlp_fefet32_train", "V2.1", "mlp", dict(memory="fefet", node=32, cell_bits=5, adc_bits=6, parallel_rows=128, pipelined=False, training=True)),
    ("vgg8_fefet32_train", "V2.1", "vgg8", dict(memory="fefet", node=32, cell_bits=5, adc_bits=6, parallel_rows=128, pipelined=False, training=True)),
    ("vgg8_fefet32_inf_v21", "V2.1", "vgg8", dict(memory="fefet", node=32, cell_bits=5, adc_bits=6, parallel_rows=128, pipelined=False, training=False)),
    ("mlp_rram32_train", "V2.1", "mlp", dict(memory="rram", node=32, cell_bits=5, adc_bits=5, parallel_rows=128, pipelined=False, training=True)),
]

# Layer lists in NetWork.csv form (IFM H, IFM W, C_in, K, K, C_out, pool after, stride).
NETS = {
    "mlp": [(1, 1, 784, 1, 1, 256, 0, 1), (1, 1, 256, 1, 1, 128, 0, 1), (1, 1, 128, 1, 1, 10, 0, 1)],
    "vgg8": [
        (32, 32, 3, 3, 3, 128, 0, 1), (32, 32, 128, 3, 3, 128, 1, 1),
        (16, 16, 128, 3, 3, 256, 0, 1), (16, 16, 256, 3, 3, 256, 1, 1),
        (8, 8, 256, 3, 3, 512, 0, 1), (8, 8, 512, 3, 3, 512, 1, 1),
        (1, 1, 8192, 1, 1, 1024, 0, 1), (1, 1, 1024, 1, 1, 10, 0, 1),
    ],
    # A CIFAR ResNet-style stack: strided 3x3 convs, 1x1 strided shortcut projections, and the
    # classifier after global pooling.
    "resnet": [
        (32, 32, 3, 3, 3, 32, 0, 1), (32, 32, 32, 3, 3, 32, 0, 1), (32, 32, 32, 3, 3, 32, 0, 1),
        (32, 32, 32, 3, 3, 64, 0, 2), (16, 16, 64, 3, 3, 64, 0, 1), (32, 32, 32, 1, 1, 64, 0, 2),
        (16, 16, 64, 3, 3, 128, 0, 2), (8, 8, 128, 3, 3, 128, 0, 1), (16, 16, 64, 1, 1, 128, 0, 2),
        (1, 1, 128, 1, 1, 10, 0, 1),
    ],
}

PARAM_FIELDS = ["memcelltype", "technode", "cellBit", "levelOutput", "levelOutputAG", "pipeline",
                "novelMapping", "speedUpDegree", "numColMuxed", "trainingEstimation"]


def prepare_rowavg(d):
    """Average each programming phase's columns over the rows that have that phase."""
    c = os.path.join(d, "ProcessingUnit.cpp")
    s = open(c).read()
    if "rowsWithSet" not in s:
        s = s.replace("numSelectedColReset += numReset;",
                      "numSelectedColReset += numReset; rowsWithSet += (numSet > 0); "
                      "rowsWithReset += (numReset > 0);", 1)
        s = s.replace("int numSelectedColReset = 0;",
                      "int numSelectedColReset = 0; int rowsWithSet = 0, rowsWithReset = 0;", 1)
        s = s.replace("numSelectedColSet = numSelectedRowSet==0? 0:ceil(numSelectedColSet/numSelectedRowSet);",
                      "numSelectedColSet = rowsWithSet==0? 0:ceil((double) numSelectedColSet/rowsWithSet);", 1)
        s = s.replace("numSelectedColReset = numSelectedRowReset==0? 0:ceil(numSelectedColReset/numSelectedRowReset);",
                      "numSelectedColReset = rowsWithReset==0? 0:ceil((double) numSelectedColReset/rowsWithReset);", 1)
        open(c, "w").write(s)


def prepare(d, rowavg=False):
    """Apply the environment switches and the three minimal fixes, then build."""
    if rowavg:
        prepare_rowavg(d)
    p = os.path.join(d, "Param.cpp")
    s = open(p).read()
    if "nsEnv" not in s:
        s = s.replace("Param::Param() {", "static double nsEnv(const char* k, double d) "
                      "{ const char* v = getenv(k); return v ? atof(v) : d; }\n\nParam::Param() {", 1)
        s = s.replace('#include "math.h"', '#include "math.h"\n#include <stdlib.h>', 1)
        for f in PARAM_FIELDS:
            # only the first (user-defined) assignment of each field
            s = re.sub(r"(?m)^(\s*)%s(\s*)=\s*([^;]+);" % f,
                       lambda m, f=f: '%s%s%s= nsEnv("NS_%s", %s);' % (m.group(1), f, m.group(2), f, m.group(3)),
                       s, count=1)
        open(p, "w").write(s)
    for name in ("Chip.cpp", "Tile.cpp", "ProcessingUnit.cpp"):
        c = os.path.join(d, name)
        s = open(c).read()
        s = re.sub(r"copyRow\.push_back\(orginal\[(.+?)\]\[(.+?)\]\);",
                   r"{ int rr = \1; int cc = \2; copyRow.push_back((rr < (int) orginal.size() && "
                   r"cc < (int) orginal[rr].size()) ? orginal[rr][cc] : 0); }", s)
        open(c, "w").write(s)
    c = os.path.join(d, "Chip.cpp")
    s = open(c).read()
    s = s.replace("numBufferCore = ceil(bufferSize/(param->globalBufferCoreSizeRow*param->globalBufferCoreSizeCol));",
                  "numBufferCore = ceil((double) bufferSize/(param->globalBufferCoreSizeRow*param->globalBufferCoreSizeCol));")
    open(c, "w").write(s)
    w = os.path.join(d, "WeightGradientUnit.cpp")
    if os.path.exists(w):
        s = open(w).read()
        s = s.replace("numArrayInRow = floor(numMemRow/numRow);", "numArrayInRow = MAX(1.0, floor(numMemRow/numRow));")
        s = s.replace("numArrayInCol = floor(numMemCol/numCol);", "numArrayInCol = MAX(1.0, floor(numMemCol/numCol));")
        open(w, "w").write(s)
    subprocess.run(["nice", "make", "-j2"], cwd=d, check=True, stdout=subprocess.DEVNULL)


def positions(layer):
    h, w, _, k, _, _, _, s = layer
    # NeuroSim reads the valid positions (no padding), integer arithmetic in its order
    return (h - k + 1) // s * (w - k + 1) // s


def bits_row(n, density, rng):
    if density == 0.5:
        v = rng.getrandbits(n)
    else:  # 0.25
        v = rng.getrandbits(n) & rng.getrandbits(n)
    b = format(v, "0%db" % n)
    return ",".join(b)


def write_inputs(work, net, wbits, abits, training, rng):
    files = []
    for i, layer in enumerate(net):
        rows = layer[2] * layer[3] * layer[4]
        cols = layer[5]
        wf = os.path.join(work, "weight%d.csv" % i)
        with open(wf, "w") as f:
            for _ in range(rows):
                f.write(",".join("%.5f" % rng.uniform(-1, 1) for _ in range(cols)) + "\n")
        of = None
        if training:
            # the matrix before the last update: 10% of the weights one programming step away
            of = os.path.join(work, "weightOld%d.csv" % i)
            step = 2.0 / (2 ** wbits)
            with open(wf) as src, open(of, "w") as f:
                for line in src:
                    vals = []
                    for x in line.strip().split(","):
                        v = float(x)
                        if rng.random() < 0.1:
                            v = max(-1.0, min(1.0, v + rng.choice((-step, step))))
                        vals.append("%.5f" % v)
                    f.write(",".join(vals) + "\n")
        inf = os.path.join(work, "input%d.csv" % i)
        dens = DENSITY_FIRST if i == 0 else DENSITY_REST
        n = positions(layer) * abits
        with open(inf, "w") as f:
            for _ in range(rows):
                f.write(bits_row(n, dens, rng) + "\n")
        files.append((wf, of, inf))
    return files


def num(text, pattern):
    m = re.search(pattern + r"\s*([-+0-9.eE]+|inf|nan)", text)
    return float(m.group(1)) if m else None


def parse(text, version, training):
    fig = {
        "area_um2": num(text, r"ChipArea :"),
        "area_array_um2": num(text, r"Chip total CIM[^:]*:"),
        "area_ic_um2": num(text, r"Total IC Area on chip \(Global and Tile/PE local\):"),
        "area_adc_um2": num(text, r"Total ADC \(or S/As and precharger for SRAM\) Area on chip :"),
        "area_accum_um2": num(text, r"Total Accumulation Circuits .*? on chip :"),
        "area_other_um2": num(text, r"Other Peripheries \(e\.g\. decoders, mux, switchmatrix, buffers, pooling and activation units\) :"),
    }
    if version == "V1.4":
        fig["clock_ns"] = num(text, r"Chip clock period is:")
        fig["latency_ns"] = num(text, r"Chip (?:layer-by-layer readLatency|pipeline-system-clock-cycle) \(per image\) is:")
        fig["energy_pj"] = num(text, r"Chip (?:total|pipeline-system) readDynamicEnergy (?:\(per image\) )?is:")
        fig["leakage_pj"] = num(text, r"Chip (?:total|pipeline-system) leakage Energy (?:\(per image\) )?is:")
        fig["buffer_latency_ns"] = num(text, r"Chip (?:pipeline-system )?buffer readLatency (?:\(per image\) )?is:")
        fig["ic_latency_ns"] = num(text, r"Chip (?:pipeline-system )?ic readLatency (?:\(per image\) )?is:")
        fig["buffer_energy_pj"] = num(text, r"Chip (?:pipeline-system )?buffer readDynamicEnergy (?:\(per image\) )?is:")
        fig["ic_energy_pj"] = num(text, r"Chip (?:pipeline-system )?ic readDynamicEnergy (?:\(per image\) )?is:")
    else:
        fig["area_wg_um2"] = num(text, r"Weight Gradient Calculation :")
        fig["fw_latency_ns_epoch"] = num(text, r"Chip readLatency of Forward \(per epoch\) is:")
        fig["fw_energy_pj_epoch"] = num(text, r"Chip readDynamicEnergy of Forward \(per epoch\) is:")
        fig["ag_latency_ns_epoch"] = num(text, r"Chip readLatency of Activation Gradient \(per epoch\) is:")
        fig["ag_energy_pj_epoch"] = num(text, r"Chip readDynamicEnergy of Activation Gradient \(per epoch\) is:")
        fig["wg_latency_ns_epoch"] = num(text, r"Chip readLatency of Weight Gradient \(per epoch\) is:")
        fig["wg_energy_pj_epoch"] = num(text, r"Chip readDynamicEnergy of Weight Gradient \(per epoch\) is:")
        fig["wu_latency_ns_epoch"] = num(text, r"Chip writeLatency of Weight Update \(per epoch\) is:")
        fig["wu_energy_pj_epoch"] = num(text, r"Chip writeDynamicEnergy of Weight Update \(per epoch\) is:")
    tiles = re.search(r"# of tile used for each layer -+\n(.*?)\n\n", text, re.S)
    if tiles:
        fig["tiles_per_layer"] = [int(float(x.split(":")[1])) for x in tiles.group(1).strip().splitlines()]
    sp = re.search(r"Speed-up of each layer -+\n(.*?)\n\n", text, re.S)
    if sp:
        fig["speedup_per_layer"] = [int(float(x.split(":")[1])) for x in sp.group(1).strip().splitlines()]
    m = re.search(r"Desired Novel Mapped Tile Storage Size: (\d+)x(\d+)x(\d+)", text)
    if m:
        fig["novel_tile"] = [int(m.group(1)), int(m.group(2))]
    m = re.search(r"Desired Conventional Mapped Tile Storage Size: (\d+)x\d+", text)
    if m:
        fig["cm_tile_size"] = int(m.group(1))
    m = re.search(r"Desired Conventional PE Storage Size: (\d+)x\d+", text)
    if m:
        fig["cm_pe_size"] = int(m.group(1))
    return fig


READ_VOLTAGE_V14 = {130: 0.58, 90: 0.58, 65: 0.55, 45: 0.51, 32: 0.51, 22: 0.55}


def settings_for(case):
    """Every setting of a case, the Param.cpp defaults it keeps included."""
    cid, version, netname, s = case
    v14 = version == "V1.4"
    settings = dict(s)
    settings.update(weight_bits=8 if v14 else 5, input_bits=8, rows=128, cols=128, mux=8,
                    novel=s.get("novel", True),
                    speedup_degree=8 if (v14 and s["pipelined"]) else 1,
                    read_pulse_s=10e-9)
    if v14:
        settings.update(r_on=100e3, on_off=17.0, write_voltage=2.0,
                        read_voltage=READ_VOLTAGE_V14[s["node"]])
    else:
        settings.update(r_on=240e3, on_off=100.0, write_voltage=4.0, write_pulse_s=50e-9,
                        read_voltage=0.5, levels=60, batch=200, iterations=250,
                        adc_bits_backward=s["adc_bits"], wg_activity=0.5,
                        training=s.get("training", False))
    return settings


def run_case(case, dirs, keep):
    cid, version, netname, s = case
    net = NETS[netname]
    training = s.get("training", False)
    wbits = 8 if version == "V1.4" else 5
    abits = 8
    env = dict(os.environ)
    env["NS_memcelltype"] = str(MEMCELL[s["memory"]])
    env["NS_technode"] = str(s["node"])
    env["NS_cellBit"] = str(s["cell_bits"])
    env["NS_levelOutput"] = str(2 ** s["adc_bits"])
    env["NS_pipeline"] = "1" if s["pipelined"] else "0"
    env["NS_novelMapping"] = "1" if s.get("novel", True) else "0"
    env["NS_speedUpDegree"] = str(8 if (version == "V1.4" and s["pipelined"]) else 1)
    if version == "V2.1":
        env["NS_trainingEstimation"] = "1" if training else "0"
        env["NS_levelOutputAG"] = str(2 ** s["adc_bits"])
    work = tempfile.mkdtemp(prefix="ns_" + cid + "_")
    os.makedirs(os.path.join(work, "NeuroSim_Results_Each_Epoch"), exist_ok=True)
    netfile = os.path.join(work, "NetWork.csv")
    with open(netfile, "w") as f:
        for l in net:
            f.write(",".join(map(str, l)) + "\n")
    rng = random.Random(SEED)
    files = write_inputs(work, net, wbits, abits, training, rng)
    exe = os.path.join(dirs[version], "main")
    if version == "V1.4":
        args = [exe, netfile, str(wbits), str(abits), "128", str(s["parallel_rows"])]
        for wf, _, inf in files:
            args += [wf, inf]
    else:
        args = [exe, "1", netfile, str(wbits), str(abits)]
        for wf, of, inf in files:
            args += [wf, of or wf, inf, "0.5"]
    out = subprocess.run(["nice"] + args, cwd=work, env=env, capture_output=True, text=True)
    text = out.stdout
    with open(os.path.join(work, "stdout.txt"), "w") as f:
        f.write(text)
    if not keep:
        for name in os.listdir(work):
            if name.endswith(".csv") and name != "NetWork.csv":
                os.remove(os.path.join(work, name))
    fig = parse(text, version, training)
    settings = settings_for(case)
    return {
        "id": cid,
        "version": version,
        "commit": COMMITS[version],
        "network": netname,
        "settings": settings,
        "inputs": {"input_density_first": DENSITY_FIRST, "input_density_rest": DENSITY_REST,
                   "weights": "uniform [-1, 1]", "seed": SEED,
                   "weight_old": "10% of weights one step away" if training else None},
        "figures": fig,
        "rc": out.returncode,
        "workdir": work,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--v14", required=True)
    ap.add_argument("--v21", required=True)
    ap.add_argument("--v21-rowavg", default="", help="V2.1 copy with row-averaged programming statistics")
    ap.add_argument("--out", default="tests/fixtures/neurosim")
    ap.add_argument("--cases", default="")
    ap.add_argument("--prepare", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--resettings", action="store_true",
                    help="rewrite the settings of the stored records without running")
    a = ap.parse_args()
    dirs = {"V1.4": a.v14, "V2.1": a.v21}
    if a.prepare:
        for d in dirs.values():
            prepare(d)
        if a.v21_rowavg:
            prepare(a.v21_rowavg, rowavg=True)
    want = set(filter(None, a.cases.split(",")))
    if a.resettings:
        path = os.path.join(a.out, "matrix.json")
        records = json.load(open(path))
        by_id = {c[0]: c for c in CASES}
        for r in records:
            r["settings"] = settings_for(by_id[r["id"]])
        with open(path, "w") as f:
            json.dump(records, f, indent=1)
            f.write("\n")
        return
    os.makedirs(a.out, exist_ok=True)
    for name, net in NETS.items():
        with open(os.path.join(a.out, "net_%s.csv" % name), "w") as f:
            for l in net:
                f.write(",".join(map(str, l)) + "\n")
    path = os.path.join(a.out, "matrix.json")
    records = json.load(open(path)) if os.path.exists(path) else []
    for case in CASES:
        if want and case[0] not in want:
            continue
        rec = run_case(case, dirs, a.keep)
        if a.v21_rowavg and case[3].get("training"):
            alt = run_case(case, dict(dirs, **{"V2.1": a.v21_rowavg}), a.keep)
            rec["figures"]["wu_energy_pj_epoch_rowavg"] = alt["figures"]["wu_energy_pj_epoch"]
        print(case[0], json.dumps(rec["figures"]), file=sys.stderr, flush=True)
        rec.pop("workdir")
        records = [r for r in records if r["id"] != rec["id"]] + [rec]
        order = [c[0] for c in CASES]
        records.sort(key=lambda r: order.index(r["id"]) if r["id"] in order else len(order))
        with open(path, "w") as f:
            json.dump(records, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
