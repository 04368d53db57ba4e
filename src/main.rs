use std::path::PathBuf;

use clap::{Parser, Subcommand};
use insitu::cli::{self, backend::BackendKind};

/// Neural-network training and inference on simulated compute-in-memory crossbar chips.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Where kernels run.
    #[arg(long, global = true, value_enum, default_value = "auto")]
    backend: BackendKind,
    /// Adapter: an index from `insitu info`, or a name substring (else INSITU_ADAPTER, else
    /// WGPU_ADAPTER_NAME, else the best hardware adapter).
    #[arg(long, global = true)]
    adapter: Option<String>,
    /// Precision of the GPU GEMM's staged operands: f32, or f16 (opt-in: changes results by up
    /// to about 2^-10 of each product; needs the adapter's SHADER_F16, see `insitu info`).
    #[arg(long, global = true, value_enum, default_value = "f32")]
    gemm: insitu::gpu::GemmPrecision,
    /// No progress bars or progress lines on stderr.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Train BP and DFA in situ on FeFET-like crossbars (embedded MNIST subset, 784-128-128-10),
    /// side by side, with each chip's area, energy and latency per training phase.
    Demo {
        /// Epochs (default 3; 5 with --float).
        #[arg(long)]
        epochs: Option<u32>,
        /// Train in floating point (784-256-256-10, no crossbars) instead.
        #[arg(long)]
        float: bool,
        /// Write both reports as JSON.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Train an experiment file.
    Train {
        config: PathBuf,
        /// Override a config field, e.g. --set train.epochs=5 (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Write the JSON report here (rewritten after every epoch).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write the trained model here after every epoch (safetensors, docs/models.md;
        /// in-situ runs add every layer's programmed conductances).
        #[arg(long)]
        save: Option<PathBuf>,
    },
    /// Evaluate a trained model on the experiment's crossbars: accuracy per population
    /// instance and drift time (`device.drift.t = [1, 3600, ...]`), and the inference chip.
    Eval {
        config: PathBuf,
        /// The trained model (safetensors, docs/models.md).
        #[arg(long)]
        model: PathBuf,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Write the JSON report here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Chip area, energy and latency of an experiment's network, without training.
    Estimate {
        config: PathBuf,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Write the report as JSON.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// In-situ BP vs DFA (and a tanh-BP control) at tuned hyper-parameters on float, symmetric
    /// and asymmetric FeFET-like chips and under stronger nonidealities, several seeds per
    /// point (docs/robustness.md); --search runs the hyper-parameter search instead.
    Robustness {
        /// Overrides of the reference, e.g. --set train.epochs=3 --set network.hidden=[128].
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Directory for robustness.{csv,json,md,svg,png} or search.{json,md} (rewritten
        /// after every run).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Chip seeds per point.
        #[arg(long, default_value_t = 4)]
        seeds: u64,
        /// Run the learning-rate x initialisation search on a validation split.
        #[arg(long)]
        search: bool,
        /// Only these rules (bp, dfa, bp_tanh), comma separated.
        #[arg(long, value_delimiter = ',')]
        rules: Vec<String>,
        /// Summarise earlier --out directories (one per rule, say) instead of training.
        #[arg(long, num_args = 1..)]
        from: Vec<PathBuf>,
    },
    /// Run the benchmark suite (GEMM, fused crossbar read, training, population, estimate).
    Bench {
        /// Small sizes (software adapters, CI).
        #[arg(long)]
        quick: bool,
        /// Write the results as JSON.
        #[arg(long)]
        out: Option<PathBuf>,
        /// The adapter's FP32 peak in GFLOP/s: cases then report their fraction of it.
        #[arg(long)]
        peak_gflops: Option<f64>,
        /// Run only cases whose name contains this (repeatable), e.g. --only gemm.
        #[arg(long)]
        only: Vec<String>,
        /// Print the table as Markdown (docs/benchmarks.md).
        #[arg(long)]
        markdown: bool,
    },
    /// PENNI compression of a conv network, with the stage table.
    Compress {
        config: PathBuf,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Write the stage report as JSON.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Start from a trained model (safetensors) instead of training a baseline.
        #[arg(long)]
        model: Option<PathBuf>,
        /// Save the baseline and compressed models as <SAVE>.baseline/.penni.safetensors.
        #[arg(long)]
        save: Option<PathBuf>,
    },
    /// List adapters, the chosen one, its features and limits.
    Info,
    /// Run a parameter sweep (resumable, shardable); see docs/sweeps.md.
    Sweep(cli::sweep::SweepArgs),
    /// Join the result directories of sweep shards, checking every point is there once.
    Merge(cli::sweep::MergeArgs),
    /// Plot sweep results to SVG or PNG.
    Plot(cli::plot::PlotArgs),
}

fn main() {
    // A closed stdout (`insitu estimate ... | head`) ends the process quietly, as for other
    // Unix tools, instead of panicking in `println!`; files are written before printing.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // Large blocks (a conv layer's read moves buffers of tens of MB, several per step) come
    // from the heap and stay there when freed, instead of glibc mapping fresh pages for each and
    // unmapping them on free: the page faults of those fresh pages cost more than the reads.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc tuning before any thread starts or any block is allocated by us.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
    let cli = Cli::parse();
    insitu::progress::set_quiet(cli.quiet);
    insitu::gpu::gemm_variants::set_default_precision(cli.gemm);
    let result = match cli.command.unwrap_or(Command::Demo {
        epochs: None,
        float: false,
        out: None,
    }) {
        Command::Demo { epochs, float, out } => cli::demo::run_demo(
            &cli::demo::Args { epochs, float, out },
            cli.backend,
            cli.adapter,
        ),
        Command::Train {
            config,
            sets,
            out,
            save,
        } => cli::train::train(&config, &sets, out, save, cli.backend, cli.adapter).map(|r| {
            if r.diverged() {
                eprintln!("error: training diverged (see `final.diverged` in the report)");
                std::process::exit(insitu::report::EXIT_DIVERGED);
            }
        }),
        Command::Eval {
            config,
            model,
            sets,
            out,
        } => cli::eval::run(
            &cli::eval::Args {
                config,
                model,
                sets,
                out,
            },
            cli.backend,
            cli.adapter,
        )
        .map(|_| ()),
        Command::Estimate { config, sets, out } => cli::estimate::run(&config, &sets, out),
        Command::Robustness {
            sets,
            out,
            seeds,
            search,
            rules,
            from,
        } => cli::robustness::run(
            cli::robustness::Options {
                sets,
                out,
                seeds,
                search,
                rules,
                from,
            },
            cli.backend,
            cli.adapter,
        ),
        Command::Bench {
            quick,
            out,
            peak_gflops,
            only,
            markdown,
        } => {
            let opts = insitu::bench::Options {
                quick,
                peak_gflops,
                only,
            };
            cli::bench::run(&opts, markdown, out, cli.backend, cli.adapter)
        }
        Command::Compress {
            config,
            sets,
            out,
            model,
            save,
        } => cli::compress::run(
            &cli::compress::Args {
                config,
                sets,
                out,
                model,
                save,
            },
            cli.backend,
            cli.adapter,
        ),
        Command::Info => cli::info::run(cli.adapter),
        Command::Sweep(a) => cli::sweep::run(a, cli.backend, cli.adapter),
        Command::Merge(a) => cli::sweep::merge(a),
        Command::Plot(a) => cli::plot::run(a),
    };
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
