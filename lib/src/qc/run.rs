//! The vip-qc subcommands as library entry points: each takes its inputs and the shared
//! options, prints its answer on stdout (a table, or JSON with `--json`) and returns the paths
//! it wrote. A negative verdict is [`VipError::Verdict`] (exit 1).

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;

use super::compare::{self, CompareOptions};
use super::geom;
use super::input::Input;
use super::plot::Figure;
use super::report::{Report, Section};
use super::series;
use super::stats::{self, StatsOptions};
use crate::cli::Options;
use crate::error::{Result, VipError};

/// How a subcommand reports.
#[derive(Debug, Clone, Default)]
pub struct Output {
    /// JSON on stdout instead of a table.
    pub json: bool,
    /// Folder of the HTML report, when one is asked for.
    pub report: Option<PathBuf>,
    /// Replace an existing report folder.
    pub overwrite: bool,
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

/// Writes the report of `sections` when `out` asks for one.
fn report(out: &Output, what: &str, sections: Vec<Section>) -> Result<()> {
    if let Some(dir) = &out.report {
        let r = Report {
            title: format!("vip-qc {what}"),
            sections,
        };
        let p = super::report::write(dir, out.overwrite, &r)?;
        log::info!("report: {}", p.join("index.html").display());
    }
    Ok(())
}

/// Prints `result` (JSON with `--json`, else `table`) and, when a report is asked for, returns
/// its section headed `heading` with the figures `figures` makes.
fn emit<T: Serialize>(
    out: &Output,
    heading: &str,
    result: &T,
    table: String,
    figures: impl FnOnce() -> Result<Vec<Figure>>,
) -> Result<Option<Section>> {
    print(&if out.json {
        json_text(result)?
    } else {
        table.clone()
    })?;
    if out.report.is_none() {
        return Ok(None);
    }
    let mut section = Section::new(heading, result, table)?;
    section.figures = figures()?;
    Ok(Some(section))
}

/// `vip-qc stats`: the statistics of each input, in input order.
pub fn run_stats(inputs: &[PathBuf], out: &Output, opts: &Options) -> Result<Vec<PathBuf>> {
    let mut sections = Vec::new();
    for p in inputs {
        let input = Input::open(p)?;
        let s = stats::stats(&input, &StatsOptions::from(opts))?;
        log::info!("{}: {} bands", input.id, s.bands.len());
        sections.extend(emit(out, &input.id, &s, stats::text_table(&s), || {
            super::report::stats_figures(&input, &s)
        })?);
    }
    report(out, "stats", sections)?;
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
    let heading = format!("{} against {}", ib.id, ia.id);
    let section = emit(out, &heading, &c, compare::text_table(&c), || {
        super::report::compare_figures(&ia, &ib, &c)
    })?;
    report(out, "compare", section.into_iter().collect())?;
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
    let heading = format!("{} against {}", p.id, r.id);
    let section = emit(out, &heading, &m, geom::text_table(&m), || {
        Ok(super::report::geom_figures(&p, &m))
    })?;
    report(out, "geom", section.into_iter().collect())?;
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
    let mut sections = Vec::new();
    for p in inputs {
        let input = Input::open(p)?;
        let s = stats::stats(&input, &StatsOptions::from(opts))?;
        let r = super::check::check_with_stats(&input, &rules, &s)?;
        sections.extend(emit(
            out,
            &input.id,
            &r,
            super::check::text_table(&r),
            || super::report::stats_figures(&input, &s),
        )?);
        for f in r.with(super::check::Status::NotMeasured) {
            log::warn!(
                "{}: {} {}: not measured: {}",
                r.product,
                f.rule,
                f.subject,
                f.detail
            );
        }
        failed.extend(
            r.failures()
                .map(|f| format!("{}: {} {}: {}", r.product, f.rule, f.subject, f.detail)),
        );
    }
    report(out, "check", sections)?;
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

/// `vip-qc series`: the per-date statistics and trends of products of one site; a date needs
/// `min_clear_percentage` percent of clear pixels to be averaged.
pub fn run_series(
    inputs: &[PathBuf],
    min_clear_percentage: f64,
    out: &Output,
    opts: &Options,
) -> Result<Vec<PathBuf>> {
    let products = inputs
        .iter()
        .map(|p| Input::open(p))
        .collect::<Result<Vec<_>>>()?;
    let s = series::series(
        &products,
        &series::SeriesOptions {
            ram_bytes: opts.ram_bytes,
            threads: opts.threads.max(1),
            min_clear_percentage,
        },
    )?;
    log::info!(
        "{} dates, {} stable pixels",
        s.dates.len(),
        s.trends.first().map_or(0, |t| t.stable_pixels)
    );
    let heading = format!(
        "site {}, {} dates",
        s.site.as_deref().unwrap_or("?"),
        s.dates.len()
    );
    let section = emit(out, &heading, &s, series::tsv(&s), || {
        Ok(super::report::series_figures(&s))
    })?;
    report(out, "series", section.into_iter().collect())?;
    Ok(Vec::new())
}
