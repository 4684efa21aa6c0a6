//! The vip-qc subcommands as library entry points: each takes its inputs and the shared
//! options, prints its answer on stdout (a table, or JSON with `--json`) and returns the paths
//! it wrote. A negative verdict is [`VipError::Verdict`] (exit 1).

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use super::compare::{self, CompareOptions};
use super::geom;
use super::input::Input;
use super::stats::{self, StatsOptions};
use crate::cli::Options;
use crate::error::{Result, VipError};

/// How a subcommand reports.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// JSON on stdout instead of a table.
    pub json: bool,
}

/// Prints `text` on stdout; a closed pipe is not an error.
pub(crate) fn print(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(VipError::output("<stdout>", e))
        }
        _ => Ok(()),
    }
}

/// Pretty JSON text of `v`, newline-terminated.
pub(crate) fn json_text<T: Serialize>(v: &T) -> Result<String> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| VipError::Internal(format!("JSON: {e}")))
}

/// `vip-qc stats`: the statistics of each input, in input order.
pub fn run_stats(inputs: &[PathBuf], out: &Output, opts: &Options) -> Result<Vec<PathBuf>> {
    for p in inputs {
        let input = Input::open(p)?;
        let s = stats::stats(&input, &StatsOptions::from(opts))?;
        log::info!("{}: {} bands", input.id, s.bands.len());
        print(&if out.json {
            json_text(&s)?
        } else {
            stats::text_table(&s)
        })?;
    }
    Ok(Vec::new())
}

/// `vip-qc compare`: `b` against the reference `a`; a band over the tolerance is a negative
/// verdict naming the band and the values.
pub fn run_compare(
    a: &std::path::Path,
    b: &std::path::Path,
    cmp: &CompareOptions,
    out: &Output,
    opts: &Options,
) -> Result<Vec<PathBuf>> {
    let ia = Input::open(a)?;
    let ib = Input::open(b)?;
    let cmp = CompareOptions {
        ram_bytes: opts.ram_bytes,
        threads: opts.threads.max(1),
        ..cmp.clone()
    };
    let c = compare::compare(&ia, &ib, &cmp)?;
    print(&if out.json {
        json_text(&c)?
    } else {
        compare::text_table(&c)
    })?;
    verdict(&c.failures)?;
    Ok(Vec::new())
}

/// A negative verdict listing each failure, or Ok.
fn verdict(failures: &[String]) -> Result<()> {
    if failures.is_empty() {
        Ok(())
    } else {
        Err(VipError::Verdict(format!(
            "{} failure(s): {}",
            failures.len(),
            failures.join("; ")
        )))
    }
}

/// `vip-qc geom`: shifts of `product` against `reference`; over `--max-rms` is a negative
/// verdict.
pub fn run_geom(
    product: &std::path::Path,
    reference: &std::path::Path,
    g: &geom::GeomOptions,
    out: &Output,
) -> Result<Vec<PathBuf>> {
    let p = Input::open(product)?;
    let r = Input::open(reference)?;
    let m = geom::geom(&p, &r, g)?;
    print(&if out.json {
        json_text(&m)?
    } else {
        geom::text_table(&m)
    })?;
    verdict(&m.failures)?;
    Ok(Vec::new())
}

/// `vip-qc check`: the findings on each input; exit 1 (a negative verdict) listing every
/// failed check when one fails.
pub fn run_check(
    inputs: &[PathBuf],
    rules: Option<&std::path::Path>,
    out: &Output,
    opts: &Options,
) -> Result<Vec<PathBuf>> {
    let rules = match rules {
        Some(p) => super::check::Rules::read(p)?,
        None => super::check::Rules::default(),
    };
    let mut failed = Vec::new();
    for p in inputs {
        let input = Input::open(p)?;
        let r = super::check::check(&input, &rules, &StatsOptions::from(opts))?;
        print(&if out.json {
            json_text(&r)?
        } else {
            super::check::text_table(&r)
        })?;
        failed.extend(
            r.failures()
                .map(|f| format!("{}: {} {}: {}", r.product, f.rule, f.subject, f.detail)),
        );
    }
    if failed.is_empty() {
        Ok(Vec::new())
    } else {
        Err(VipError::Verdict(format!(
            "{} check(s) failed: {}",
            failed.len(),
            failed.join("; ")
        )))
    }
}
