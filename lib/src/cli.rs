//! What every tool shares at its edge: the common flags, log lines, progress bars, path lists
//! read from stdin, `--version` with the GDAL and PROJ versions, man pages, and the wrapper that
//! runs a tool and turns its result into an exit status (DESIGN.md §4).
//!
//! Physics never parses flags: a tool turns [`CommonArgs`] (and, where it writes, [`OutputArgs`]
//! and [`CreationArgs`]) into [`Options`] and hands those down. Each (sub)command takes exactly
//! the flags it uses: a flag it would ignore is a usage error.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::{Result, VipError};

/// The flags every tool and every subcommand takes (DESIGN.md §4). Flatten it into a tool's
/// clap definition.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Common options")]
pub struct CommonArgs {
    /// Worker threads [default: all cores]
    #[arg(long, value_name = "N", global = true, value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,
    /// Memory budget in MB for raster buffers; strips are sized from it
    #[arg(long, value_name = "MB", default_value_t = 1024, global = true, value_parser = clap::value_parser!(u64).range(16..))]
    pub ram: u64,
    /// Only print warnings and errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print debug messages (repeat for trace)
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Show progress bars [default: when stderr is a terminal]
    #[arg(long, global = true, overrides_with = "no_progress")]
    pub progress: bool,
    /// Never show progress bars
    #[arg(long, global = true)]
    pub no_progress: bool,
    /// GDAL configuration option, e.g. GDAL_CACHEMAX=256 (repeatable)
    #[arg(long, value_name = "KEY=VALUE", global = true, value_parser = parse_key_value)]
    pub config: Vec<(String, String)>,
}

/// `--overwrite`, for the (sub)commands that write something that may already exist.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Output options")]
pub struct OverwriteArg {
    /// Replace outputs that already exist
    #[arg(long)]
    pub overwrite: bool,
}

/// `-o/--output` and `--overwrite`, for the (sub)commands that write products. Never global: a
/// subcommand that writes nothing must refuse them.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Output options")]
pub struct OutputArgs {
    /// Directory the products are written into
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub overwrite: OverwriteArg,
}

/// `--co`, for the (sub)commands that write rasters.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Output options")]
pub struct CreationArgs {
    /// GDAL creation option for written rasters, e.g. COMPRESS=DEFLATE (repeatable)
    #[arg(long = "co", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub co: Vec<(String, String)>,
}

fn parse_key_value(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got '{s}'")),
    }
}

/// The shared settings a library entry point needs, resolved from [`CommonArgs`] and, where a
/// subcommand writes, [`OutputArgs`] and [`CreationArgs`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Where products go.
    pub output: PathBuf,
    /// Replace existing products.
    pub overwrite: bool,
    /// Number of worker threads.
    pub threads: usize,
    /// Memory budget for raster buffers, in bytes.
    pub ram_bytes: u64,
    /// Extra GDAL creation options, applied over each writer's defaults.
    pub creation_options: Vec<(String, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            output: PathBuf::from("."),
            overwrite: false,
            threads: 1,
            ram_bytes: 1024 << 20,
            creation_options: Vec::new(),
        }
    }
}

impl Options {
    /// These options writing where `out` says (`-o` defaults to the current directory).
    pub fn writing(self, out: &OutputArgs) -> Options {
        Options {
            output: out.output.clone().unwrap_or_else(|| PathBuf::from(".")),
            overwrite: out.overwrite.overwrite,
            ..self
        }
    }

    /// These options creating rasters with the `--co` options of `co`.
    pub fn creating(self, co: &CreationArgs) -> Options {
        Options {
            creation_options: co.co.clone(),
            ..self
        }
    }
}

impl CommonArgs {
    /// The resolved options of a subcommand that writes no product (`-o` is the current
    /// directory, nothing is replaced, no creation option).
    pub fn options(&self) -> Options {
        Options {
            threads: self
                .threads
                .map(|t| t as usize)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            ram_bytes: self.ram << 20,
            ..Options::default()
        }
    }

    fn log_level(&self) -> log::LevelFilter {
        match (self.quiet, self.verbose) {
            (true, _) => log::LevelFilter::Warn,
            (false, 0) => log::LevelFilter::Info,
            (false, 1) => log::LevelFilter::Debug,
            _ => log::LevelFilter::Trace,
        }
    }

    fn progress_enabled(&self) -> bool {
        !self.quiet && !self.no_progress && (self.progress || std::io::stderr().is_terminal())
    }
}

/// A tool's clap definition, which carries the common flags.
pub trait Tool: clap::Parser {
    /// The common flags of this invocation.
    fn common(&self) -> &CommonArgs;
}

/// `--version` text: the tool's version, then the GDAL and PROJ it runs with.
pub fn long_version() -> String {
    use proj::Info;
    let proj = proj::ProjBuilder::new()
        .info()
        .map(|i| i.version)
        .unwrap_or_else(|_| "unknown".into());
    format!(
        "{}\nGDAL {}\nPROJ {}",
        env!("CARGO_PKG_VERSION"),
        gdal::version::version_info("RELEASE_NAME"),
        proj
    )
}

/// Runs a tool: parses its flags, sets up logs, threads, GDAL and progress, calls `body`, prints
/// each written path on stdout and exits with the status of DESIGN.md §4.
///
/// `vip-x --generate-man DIR` writes the tool's man pages (one per subcommand too) into DIR.
pub fn run<T: Tool>(name: &'static str, body: impl FnOnce(T) -> Result<Vec<PathBuf>>) -> ! {
    let argv: Vec<_> = std::env::args_os().collect();
    if argv.len() == 3 && argv[1] == "--generate-man" {
        let dir = Path::new(&argv[2]);
        if let Err(e) = clap_mangen::generate_to(T::command(), dir) {
            eprintln!("{name}: {}: {e}", dir.display());
            std::process::exit(5);
        }
        std::process::exit(0);
    }
    let version: &'static str = Box::leak(long_version().into_boxed_str());
    let matches = T::command()
        .version(env!("CARGO_PKG_VERSION"))
        .long_version(version)
        .get_matches();
    let args = match T::from_arg_matches(&matches) {
        Ok(a) => a,
        Err(e) => e.exit(),
    };
    let common = args.common().clone();
    init_logging(name, common.log_level());
    let _ = PROGRESS.set(common.progress_enabled());
    let code = match setup(&common).and_then(|()| body(args)) {
        Ok(paths) => {
            let mut out = std::io::stdout().lock();
            for p in paths {
                if writeln!(out, "{}", p.display()).is_err() {
                    break;
                }
            }
            0
        }
        Err(e) => {
            log::error!("{e}");
            e.exit_code()
        }
    };
    log::logger().flush();
    std::process::exit(code)
}

fn setup(common: &CommonArgs) -> Result<()> {
    let opts = common.options();
    rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build_global()
        .map_err(|e| VipError::Internal(format!("thread pool: {e}")))?;
    // GDAL's own messages become debug lines: our errors already say what failed and where.
    gdal::config::set_error_handler(|class, _code, msg| {
        log::debug!("GDAL {class:?}: {msg}");
    });
    let cache_mb = (common.ram / 4).clamp(16, 512);
    set_gdal_config("GDAL_CACHEMAX", &cache_mb.to_string())?;
    // compression threads for what we write (creation option NUM_THREADS), not the global
    // GDAL_NUM_THREADS: with it GDAL 3.6 decodes GeoTIFF reads on its own threads, which
    // deadlocked a full-scene vip-l1 (a worker stuck on a lock, the read waiting on it)
    crate::raster::set_write_threads(opts.threads);
    // Products keep everything inside their files (descriptions, nodata): no .aux.xml beside.
    set_gdal_config("GDAL_PAM_ENABLED", "NO")?;
    for (k, v) in &common.config {
        set_gdal_config(k, v)?;
    }
    Ok(())
}

fn set_gdal_config(key: &str, value: &str) -> Result<()> {
    gdal::config::set_config_option(key, value)
        .map_err(|e| VipError::Usage(format!("--config {key}={value}: {e}")))
}

/// Expands the input arguments: `-` stands for the paths read from stdin, one per line.
pub fn input_paths(args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    read_input_paths(args, std::io::stdin().lock())
}

/// [`input_paths`] with the stdin lines taken from `stdin`.
pub fn read_input_paths(args: &[PathBuf], stdin: impl BufRead) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stdin = Some(stdin);
    for a in args {
        if a.as_os_str() == "-" {
            let Some(lines) = stdin.take() else {
                return Err(VipError::Usage("'-' given more than once".into()));
            };
            for line in lines.lines() {
                let line = line.map_err(|e| VipError::input_io("<stdin>", &e))?;
                let line = line.trim();
                if !line.is_empty() {
                    out.push(PathBuf::from(line));
                }
            }
        } else {
            out.push(a.clone());
        }
    }
    if out.is_empty() {
        return Err(VipError::Usage("no input product given".into()));
    }
    Ok(out)
}

/// Requires `path` to exist, or says which input is missing.
pub fn require_exists(path: &Path) -> Result<()> {
    std::fs::metadata(path)
        .map(|_| ())
        .map_err(|e| VipError::input_io(path, &e))
}

static PROGRESS: OnceLock<bool> = OnceLock::new();
static BARS: OnceLock<MultiProgress> = OnceLock::new();

fn bars() -> &'static MultiProgress {
    BARS.get_or_init(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
}

/// A progress bar on stderr, hidden unless progress is on (DESIGN.md §4).
pub fn progress(len: u64, what: &str) -> ProgressBar {
    if !PROGRESS.get().copied().unwrap_or(false) {
        return ProgressBar::hidden();
    }
    let bar = bars().add(ProgressBar::new(len));
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:>12} [{bar:40}] {pos}/{len} {elapsed_precise} eta {eta}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

struct Logger {
    tool: &'static str,
    pid: u32,
}

impl log::Log for Logger {
    fn enabled(&self, meta: &log::Metadata) -> bool {
        meta.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let line = log_line(
            self.tool,
            self.pid,
            record.level(),
            &record.args().to_string(),
        );
        let print = || {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        };
        match BARS.get() {
            Some(b) => b.suspend(print),
            None => print(),
        }
    }

    fn flush(&self) {
        let _ = std::io::stderr().flush();
    }
}

/// One log line: `2026-01-31T02:00:00Z vip-l1[1234] INFO message`.
pub fn log_line(tool: &str, pid: u32, level: log::Level, msg: &str) -> String {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
    format!("{now} {tool}[{pid}] {level} {msg}")
}

fn init_logging(tool: &'static str, level: log::LevelFilter) {
    let logger = Box::leak(Box::new(Logger {
        tool,
        pid: std::process::id(),
    }));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(level);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dash_reads_paths_from_stdin() {
        let stdin = "a/P1\n\n  b/P2  \n".as_bytes();
        let got = read_input_paths(&[PathBuf::from("x"), PathBuf::from("-")], stdin).unwrap();
        assert_eq!(
            got,
            vec![
                PathBuf::from("x"),
                PathBuf::from("a/P1"),
                PathBuf::from("b/P2")
            ]
        );
    }

    #[test]
    fn no_input_is_a_usage_error() {
        let e = read_input_paths(&[PathBuf::from("-")], "".as_bytes()).unwrap_err();
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn log_line_has_the_house_format() {
        let l = log_line("vip-l1", 1234, log::Level::Info, "hello");
        let (stamp, rest) = l.split_once(' ').unwrap();
        assert_eq!(rest, "vip-l1[1234] INFO hello");
        assert_eq!(stamp.len(), 20);
        assert!(chrono::NaiveDateTime::parse_from_str(stamp, "%Y-%m-%dT%H:%M:%SZ").is_ok());
    }

    #[test]
    fn key_value_flags() {
        assert_eq!(
            parse_key_value("COMPRESS=ZSTD").unwrap(),
            ("COMPRESS".into(), "ZSTD".into())
        );
        assert!(parse_key_value("COMPRESS").is_err());
        assert!(parse_key_value("=x").is_err());
    }
}
