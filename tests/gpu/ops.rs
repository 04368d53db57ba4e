//! Driven by the kernel table (`backend::kernels`): every operation that dispatches a kernel runs
//! once on the GPU and once on the CPU twin from the same random inputs, on shapes that are not
//! multiples of the workgroup sizes, and every output must agree. An operation added to the table
//! without a case here fails the test. Also: a backend freed back to a mark after each job keeps
//! its buffer count flat over many jobs.

use crate::common;
use crate::common::xbar as xcommon;

use common::{gpu, max_rel_err, random};
use insitu::backend::kernels::ops;
use insitu::backend::*;
use insitu::config::Mapping;
use insitu::cpu::CpuBackend;
use insitu::gpu::tiles::{GemmTile, ReadTile};
use insitu::gpu::GpuBackend;
use insitu::xbar::direction::Direction;
use insitu::xbar::mapping::{map_for_training, map_weights};
use xcommon::{ideal, quiet, values};

/// Runs one operation on `be` and returns everything it wrote.
type Case = fn(&mut dyn Backend) -> Vec<Vec<f32>>;

fn put(be: &mut dyn Backend, data: &[f32]) -> Buf {
    let b = be.alloc(data.len());
    be.write(b, data);
    b
}

fn put_u32(be: &mut dyn Backend, data: &[u32]) -> Buf {
    let b = be.alloc_u32(data.len());
    be.write_u32(b, data);
    b
}

fn labels(n: usize, stream: u32, classes: u32) -> Vec<u32> {
    random(n, stream, 0.0, classes as f32)
        .iter()
        .map(|v| (*v as u32).min(classes - 1))
        .collect()
}

/// Two instances of a 37 x 300 view (bias rows for the bias kernels).
fn act_params(act: u32) -> ActParams {
    crate::kernels::act_params(37, 300, 2, act)
}

fn gemm(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let (m, n, k, batch) = (65, 17, 33, 2);
    let a = put(be, &random((batch * m * k) as usize, 1, -1.0, 1.0));
    let b = put(be, &random((batch * n * k) as usize, 2, -1.0, 1.0));
    let c = be.alloc((batch * m * n) as usize);
    be.gemm(a, b, c, &Gemm::dense(m, n, k, false, true, batch));
    vec![be.read(c)]
}

fn bias_act(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    for act in 0..4 {
        let mut p = act_params(act);
        let x = put(be, &random(p.count as usize, 3, -3.0, 3.0));
        let bias = put(be, &random(2 * p.cols as usize, 4, -1.0, 1.0));
        p.stride1 = p.cols;
        be.bias_act(x, bias, &p);
        out.push(be.read(x));
    }
    out
}

fn act_backward(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    for act in 0..4 {
        let p = act_params(act);
        let h = put(be, &random(p.count as usize, 5, 0.05, 0.95));
        let d = put(be, &random(p.count as usize, 6, -1.0, 1.0));
        be.act_backward(d, h, &p);
        out.push(be.read(d));
    }
    out
}

fn bias_grad(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let mut p = act_params(0);
    let d = put(be, &random(p.count as usize, 7, -1.0, 1.0));
    let g = be.alloc(2 * p.cols as usize);
    p.count = 2 * p.cols;
    p.stride0 = p.cols;
    be.bias_grad(g, d, &p);
    vec![be.read(g)]
}

fn loss_params(kind: LossKind) -> LossParams {
    let (rows, classes, p) = (37, 10, 2);
    LossParams {
        rows,
        classes,
        count: p * rows,
        kind: kind as u32,
        off_y: 0,
        stride_y: rows * classes,
        _pad0: [0; 2],
        scale: 1.0 / rows as f32,
        _pad1: [0.0; 3],
    }
}

fn loss(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    for kind in [LossKind::CrossEntropy, LossKind::Mse] {
        let p = loss_params(kind);
        let n = (p.count * p.classes) as usize;
        let y = put(be, &random(n, 8, -4.0, 4.0));
        let l = put_u32(be, &labels(p.rows as usize, 9, p.classes));
        let (dy, stats) = (be.alloc(n), be.alloc(2 * p.count as usize));
        be.loss(y, l, dy, stats, &p);
        out.extend([be.read(dy), be.read(stats)]);
    }
    out
}

fn accumulate(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let (rows, p) = (37, 3);
    let stats = put(be, &random(2 * rows * p, 10, 0.0, 2.0));
    let acc = put(be, &random(4 * p, 11, 0.0, 5.0));
    let ap = AccumulateParams {
        rows: rows as u32,
        count: p as u32,
        _pad: [0; 2],
    };
    be.accumulate(stats, acc, &ap);
    vec![be.read(acc)]
}

fn sgd(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    for nesterov in [0, 1] {
        let (n, p) = (1000, 3);
        let w = put(be, &random(n * p + 9, 12, -1.0, 1.0));
        let v = put(be, &random(n * p + 9, 13, -0.1, 0.1));
        let g = put(be, &random(n * p + 9, 14, -1.0, 1.0));
        let lr = put(be, &random(p, 15, 0.01, 0.2));
        let sp = SgdParams {
            n: n as u32,
            count: (n * p) as u32,
            off: 4,
            nesterov,
            momentum: 0.9,
            weight_decay: 1e-4,
            _pad1: [0.0; 2],
        };
        be.sgd(w, v, g, lr, &sp);
        out.extend([be.read(w), be.read(v)]);
    }
    out
}

fn gather(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let images = put(be, &random(50 * 13, 16, 0.0, 1.0));
    let perm = put_u32(be, &(0..50).map(|i| (i * 17) % 50).collect::<Vec<_>>());
    let l = put_u32(be, &labels(50, 17, 10));
    let (x, y) = (be.alloc(7 * 13), be.alloc_u32(7));
    let gp = GatherParams {
        rows: 7,
        features: 13,
        start: 20,
        count: 7 * 13,
    };
    be.gather(images, perm, l, x, y, &gp);
    let y = be.read_u32(y).iter().map(|&v| v as f32).collect();
    vec![be.read(x), y]
}

fn fill(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let b = put(be, &random(1000, 18, -1.0, 1.0));
    let fp = FillParams {
        off: 3,
        count: 700,
        value: 2.5,
        _pad: 0,
    };
    be.fill(b, &fp);
    vec![be.read(b)]
}

fn augment(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let (rows, c, h, w) = (5, 3, 9, 7);
    let x = put(be, &random(rows * c * h * w, 19, 0.0, 1.0));
    let y = be.alloc(rows * c * h * w);
    let ap = AugmentParams {
        rows: rows as u32,
        c: c as u32,
        h: h as u32,
        w: w as u32,
        count: (rows * c * h * w) as u32,
        pad: 2,
        flip: 1,
        first: 11,
        key0: 0x1234,
        key1: 0x9876,
        _pad: [0; 2],
    };
    be.augment(x, y, &ap);
    vec![be.read(y)]
}

/// 3 x 5 kernels, stride 2, padding 1, over a batch of 2 7 x 6 maps of 3 channels (NCHW).
fn im2col_params(count_cols: bool) -> Im2colParams {
    let (batch, c, h, w, k, stride, pad) = (2, 3, 7, 6, 3, 2, 1);
    let (oh, ow) = (
        (h + 2 * pad - k) / stride + 1,
        (w + 2 * pad - k) / stride + 1,
    );
    Im2colParams {
        batch,
        c,
        h,
        w,
        k,
        stride,
        pad,
        count: if count_cols {
            k * k * c * batch * oh * ow
        } else {
            batch * c * h * w
        },
        oh,
        ow,
        sb: c * h * w,
        sc: h * w,
    }
}

fn im2col(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let p = im2col_params(true);
    let x = put(
        be,
        &random((p.batch * p.c * p.h * p.w) as usize, 20, -1.0, 1.0),
    );
    let cols = be.alloc(p.count as usize);
    be.im2col(x, cols, &p);
    vec![be.read(cols)]
}

fn col2im(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let p = im2col_params(false);
    let n_cols = im2col_params(true).count as usize;
    let cols = put(be, &random(n_cols, 21, -1.0, 1.0));
    let x = be.alloc(p.count as usize);
    be.col2im(cols, x, &p);
    vec![be.read(x)]
}

fn permute(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    // Three instances of a block (offset 4, rows 40 apart) of wider matrices.
    let (a, b, s, np) = (5, 7, 5, 3);
    let x = put(be, &random(4 + np * a * 40, 22, -1.0, 1.0));
    let y = be.alloc(np * a * b * s);
    let pp = PermuteParams::new(a, b, s)
        .instances(np, a * 40)
        .rows(4, 40);
    be.permute(x, y, &pp);
    vec![be.read(y)]
}

fn pool_params(op: PoolOp, forward: bool) -> PoolParams {
    let (planes, h, w, kh, kw) = (7, 9, 11, 2, 3);
    let (oh, ow) = (h / kh, w / kw);
    PoolParams {
        planes,
        h,
        w,
        kh,
        kw,
        oh,
        ow,
        op: op as u32,
        count: planes * if forward { oh * ow } else { h * w },
        _pad: [0; 3],
    }
}

fn pool(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    for op in [PoolOp::Max, PoolOp::Avg] {
        let p = pool_params(op, true);
        let x = put(be, &random((p.planes * p.h * p.w) as usize, 23, -1.0, 1.0));
        let y = be.alloc(p.count as usize);
        be.pool(x, y, &p);
        out.push(be.read(y));
    }
    out
}

fn pool_backward(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let mut out = Vec::new();
    for op in [PoolOp::Max, PoolOp::Avg] {
        let p = pool_params(op, false);
        let x = put(be, &random(p.count as usize, 24, -1.0, 1.0));
        let dy = put(
            be,
            &random((p.planes * p.oh * p.ow) as usize, 25, -1.0, 1.0),
        );
        let dx = be.alloc(p.count as usize);
        be.pool_backward(x, dy, dx, &p);
        out.push(be.read(dx));
    }
    out
}

fn sparse_params() -> SparseParams {
    SparseParams {
        count: 777,
        _pad: [0; 2],
        lambda: 1e-3,
    }
}

fn l1_grad(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let mut w = random(800, 26, -1.0, 1.0);
    w[5] = 0.0;
    let w = put(be, &w);
    let g = put(be, &random(800, 27, -1.0, 1.0));
    be.l1_grad(g, w, &sparse_params());
    vec![be.read(g)]
}

fn mask(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let w = put(be, &random(800, 28, -1.0, 1.0));
    let m: Vec<f32> = random(800, 29, 0.0, 1.0)
        .iter()
        .map(|v| v.round())
        .collect();
    let m = put(be, &m);
    be.mask(w, m, &sparse_params());
    vec![be.read(w)]
}

/// 5 channels of 300 values (more than one workgroup's tree).
fn bn_params() -> BnParams {
    BnParams::new(5, 300, 1e-5, 0.1)
}

fn bn_inputs(be: &mut dyn Backend) -> [Buf; 3] {
    let p = bn_params();
    let (c, n) = (p.c as usize, p.n as usize);
    [
        put(be, &random(c * n, 30, -2.0, 3.0)),
        put(be, &random(c, 31, 0.5, 1.5)),
        put(be, &random(c, 32, -0.3, 0.3)),
    ]
}

fn bn_train(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let p = bn_params();
    let [x, gamma, beta] = bn_inputs(be);
    let y = be.alloc(x_len(&p));
    let save = be.alloc(2 * p.c as usize);
    let running = put(be, &random(2 * p.c as usize, 33, 0.5, 1.5));
    be.bn_train(x, gamma, beta, y, save, running, &p);
    vec![be.read(y), be.read(save), be.read(running)]
}

fn x_len(p: &BnParams) -> usize {
    (p.c * p.n) as usize
}

fn bn_infer(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let p = bn_params();
    let [x, gamma, beta] = bn_inputs(be);
    let running = put(be, &random(2 * p.c as usize, 34, 0.5, 1.5));
    let y = be.alloc(x_len(&p));
    be.bn_infer(x, gamma, beta, running, y, &p);
    vec![be.read(y)]
}

fn bn_backward(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let p = bn_params();
    let [x, gamma, _] = bn_inputs(be);
    let c = p.c as usize;
    let mut save = random(c, 35, -0.2, 0.2);
    save.extend(random(c, 36, 0.5, 1.5));
    let save = put(be, &save);
    let dy = put(be, &random(x_len(&p), 37, -1.0, 1.0));
    let (dx, dgamma, dbeta) = (be.alloc(x_len(&p)), be.alloc(c), be.alloc(c));
    be.bn_backward(x, dy, gamma, save, dx, dgamma, dbeta, &p);
    vec![be.read(dx), be.read(dgamma), be.read(dbeta)]
}

fn add(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let y = put(be, &random(1000, 38, -1.0, 1.0));
    let x = put(be, &random(1000, 39, -1.0, 1.0));
    let ap = AddParams {
        count: 999,
        _pad: [0; 3],
    };
    be.add(y, x, &ap);
    vec![be.read(y)]
}

/// Two instances of a 70 x 9 crossbar layer, read forward and transposed.
fn xbar_read(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let cfg = ideal(Mapping::Differential, 5, 2, 6, 2);
    two_instance_reads(be, &cfg, 40, false).1
}

/// Creates two instances of a 70 x 9 layer of `cfg` (weights, knobs and inputs drawn from
/// `seed` on) and reads it forward, then transposed, through `xbar_read`, or through
/// `xbar_calibrate_read` with `calibrate`: the crossbar and the two outputs.
fn two_instance_reads(
    be: &mut dyn Backend,
    cfg: &insitu::xbar::Xbar,
    seed: u64,
    calibrate: bool,
) -> (XbarId, Vec<Vec<f32>>) {
    let (k, n, p, rows) = (70usize, 9usize, 2usize, 5usize);
    let layers = (0..p)
        .map(|q| {
            let w = values(n * k, seed + q as u64, -0.9, 0.9);
            map_weights(&w, n, k, None, cfg, q as u32, 0)
        })
        .collect();
    let id = be.xbar_create(cfg, layers, vec![quiet(seed + 1), quiet(seed + 2)]);
    let mut out = Vec::new();
    for (dir, lines, outs) in [(Direction::Forward, k, n), (Direction::Transposed, n, k)] {
        let x = put(be, &random(p * rows * lines, seed as u32 + 3, -1.0, 1.0));
        let y = be.alloc(p * rows * outs);
        let view = |buf, ld: usize| MatView {
            buf,
            off: 0,
            ld: ld as u32,
            stride: (rows * ld) as u32,
        };
        let op = XbarRead {
            dir,
            signed: true,
            rows: rows as u32,
            read_counter: 3,
        };
        if calibrate {
            be.xbar_calibrate_read(id, view(x, lines), view(y, outs), &op);
        } else {
            be.xbar_read(id, view(x, lines), view(y, outs), &op);
        }
        out.push(be.read(y));
    }
    (id, out)
}

/// Two instances of a 70 x 9 layer with calibrated ADCs, calibrated by a read forward and
/// one transposed: the outputs, then every instance's ranges.
fn xbar_calibrate_read(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let mut cfg = ideal(Mapping::Offset, 5, 3, 6, 2);
    cfg.array.adc_mode = insitu::config::AdcMode::Calibrated;
    cfg.array.adc_bits = 6;
    let (id, mut out) = two_instance_reads(be, &cfg, 44, true);
    let cells = be.xbar_cells(id);
    let ranges = cells.iter().flat_map(|l| {
        [Direction::Forward, Direction::Transposed].map(|d| l.adc_range(d).expect("calibrated"))
    });
    out.push(ranges.flat_map(|r| [r.lo, r.hi]).collect());
    out
}

/// Two instances of a 70 x 9 layer programmed three times.
fn xbar_program(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let cfg = ideal(Mapping::Offset, 5, 5, 8, 1);
    let (k, n, p) = (70usize, 9usize, 2usize);
    let knobs: Vec<_> = (0..p)
        .map(|q| insitu::xbar::Knobs {
            lr: 0.05 * (1.0 + q as f32),
            ..quiet(50 + q as u64)
        })
        .collect();
    let layers = (0..p)
        .map(|q| {
            let w = values(n * k, 51 + q as u64, -0.9, 0.9);
            map_for_training(&w, n, k, 1.0, &cfg, &knobs[q], q as u32, 4).expect("layer")
        })
        .collect();
    let id = be.xbar_create(&cfg, layers, knobs);
    let grad = be.alloc(p * n * k);
    for step in 0..3 {
        be.write(grad, &values(p * n * k, 52 + step as u64, -3.0, 3.0));
        be.xbar_program(id, grad, step);
    }
    let a = be.xbar_activity(id);
    let counters = vec![a.write_pulses as f32, a.cells_written as f32];
    let mut out: Vec<Vec<f32>> = be.xbar_cells(id).into_iter().map(|l| l.cells).collect();
    out.push(counters);
    out
}

/// The check of each operation and its tolerance (largest |gpu - cpu| / (1 + |cpu|)).
fn case(op: &str) -> Option<(Case, f32)> {
    Some(match op {
        "gemm" => (gemm, 1e-4),
        "bias_act" => (bias_act, 1e-5),
        "act_backward" => (act_backward, 1e-5),
        "bias_grad" => (bias_grad, 1e-4),
        "loss" => (loss, 1e-5),
        "accumulate" => (accumulate, 1e-5),
        "sgd" => (sgd, 1e-6),
        "gather" => (gather, 0.0),
        "fill" => (fill, 0.0),
        "augment" => (augment, 0.0),
        "im2col" => (im2col, 0.0),
        "col2im" => (col2im, 1e-6),
        "permute" => (permute, 0.0),
        "pool" => (pool, 1e-6),
        "pool_backward" => (pool_backward, 1e-6),
        "l1_grad" => (l1_grad, 1e-6),
        "mask" => (mask, 0.0),
        "bn_train" => (bn_train, 1e-4),
        "bn_infer" => (bn_infer, 1e-5),
        "bn_backward" => (bn_backward, 1e-4),
        "add" => (add, 0.0),
        "xbar_read" => (xbar_read, 1e-5),
        "xbar_calibrate_read" => (xbar_calibrate_read, 1e-5),
        "xbar_program" => (xbar_program, 1e-5),
        _ => return None,
    })
}

/// A kernel variant the GPU side of a case runs under: a description and how to pin it.
type Variant = (String, Box<dyn Fn(&mut GpuBackend)>);

/// The variants of an operation's kernels: every tile shape pinned in turn, then the backend's
/// own choice for the case's size.
fn variants(op: &str) -> Vec<Variant> {
    fn variant(what: String, pin: impl Fn(&mut GpuBackend) + 'static) -> Variant {
        let set = move |g: &mut GpuBackend| {
            g.force_gemm_tile = None;
            g.force_read_tile = None;
            g.force_plain_reductions = false;
            pin(g);
        };
        (what, Box::new(set))
    }
    let mut out = Vec::new();
    if op == "gemm" {
        for t in GemmTile::ALL {
            out.push(variant(format!("tile {t:?}"), move |g| {
                g.force_gemm_tile = Some(t)
            }));
        }
    }
    if op == "xbar_read" {
        for t in ReadTile::ALL {
            out.push(variant(format!("tile {t:?}"), move |g| {
                g.force_read_tile = Some(t)
            }));
        }
    }
    // Kernels that reduce with subgroup operations where the adapter has them.
    if matches!(op, "bn_train" | "bn_backward" | "xbar_read") {
        out.push(variant("tree reductions".into(), |g| {
            g.force_plain_reductions = true
        }));
    }
    out.push(variant("as chosen".into(), |_| {}));
    out
}

#[test]
fn every_table_operation_matches_its_cpu_twin() {
    let (mut g, mut c) = (gpu(), CpuBackend::new());
    for op in ops() {
        let (run, tol) = case(op).unwrap_or_else(|| {
            panic!("operation `{op}` of backend::kernels::KERNELS has no GPU-vs-CPU case here")
        });
        let cs = run(&mut c);
        for (variant, pin) in variants(op) {
            pin(&mut g);
            let gs = run(&mut g);
            assert_eq!(gs.len(), cs.len(), "{op}: outputs");
            for (i, (a, b)) in gs.iter().zip(&cs).enumerate() {
                assert!(b.iter().all(|v| v.is_finite()), "{op}: CPU output {i}");
                let err = max_rel_err(a, b);
                assert!(
                    err <= tol,
                    "{op} ({variant}): output {i} differs by {err} (allowed {tol})"
                );
            }
        }
    }
}

/// Several small training jobs on one backend, each released to the mark taken before it: the
/// buffer count returns to the baseline every time, and each job allocates the same number.
fn jobs_keep_memory_flat(be: &mut dyn Backend, cfg: &insitu::config::ExperimentConfig) {
    let what = &cfg.name;
    let split = insitu::data::Split {
        train: common::random_dataset(48, 60, [1, 28, 28], 10),
        test: common::random_dataset(16, 62, [1, 28, 28], 10),
        name: "random".into(),
    };
    let base = be.live_buffers();
    let mut peaks = Vec::new();
    for _ in 0..3 {
        let mark = be.mark();
        let opts = insitu::experiment::RunOptions::default();
        insitu::experiment::run_on(be, cfg, &split, &opts).expect("training job");
        peaks.push(be.live_buffers());
        be.release(mark);
        assert_eq!(
            be.live_buffers(),
            base,
            "{what}: buffers left after release"
        );
    }
    assert!(peaks[0] > base, "{what}: the job allocated nothing");
    assert!(peaks.iter().all(|&p| p == peaks[0]), "{what}: {peaks:?}");
}

#[test]
fn released_jobs_keep_the_buffer_count_flat() {
    let short = ["train.epochs=1", "train.batch_size=16"];
    let mlp = insitu::config::parse(
        include_str!("../../configs/xbar_mlp_bp.toml"),
        "test",
        &[
            "network.hidden=[16]".to_string(),
            short[0].into(),
            short[1].into(),
        ],
    )
    .expect("test config");
    let cnn = common::xbar_cnn_config("C4-M-FC10", &short);
    for cfg in [&mlp, &cnn] {
        jobs_keep_memory_flat(&mut gpu(), cfg);
        jobs_keep_memory_flat(&mut CpuBackend::new(), cfg);
    }
}
