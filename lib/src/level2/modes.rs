//! The processing modes of `vip-maccs l2` over a site's context (MAJA's):
//!
//! - **init**: no history; the product's cloud tests are mono-temporal and its context starts
//!   the site's history.
//! - **nominal**: each L1C, in date order, with the context the previous date left.
//! - **backward**: the first product of a site is not made blind. The L1Cs (given oldest
//!   first) are processed from the newest down to the second, each updating a scratch history
//!   and issuing nothing; the oldest is then processed with that history of the following
//!   dates and issued, and the others follow in nominal mode, oldest first. The multi-temporal
//!   tests compare a date with the clear pixels nearest in time whichever side they lie (ages
//!   are absolute), so the first product sees its site as the next ones do.
//! - **auto** (no `--mode`): nominal when the context is there and its last date is less than
//!   `Max_Age` days before the first L1C; otherwise backward when there are several L1Cs, init
//!   when there is one.
//!
//! A context of another site or grid, or whose last date is not before the first L1C, is bad
//! input; so are L1Cs not in strictly increasing date order and nominal mode without a
//! context. Nothing is written then.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::{process_with as process, L2Options};
use crate::cli::Options;
use crate::context::{Context, Mode};
use crate::error::{Result, VipError};
use crate::product::l1c::L1c;

/// The history one run reads and where its update goes.
pub struct History<'a> {
    /// The context read (none: init).
    pub read: Option<&'a Context>,
    /// Folder the updated context is written to.
    pub write: &'a Path,
    pub mode: Mode,
    /// Whether the L2A is issued (the backward pass only builds the history).
    pub issue: bool,
}

impl History<'_> {
    /// No context: init mode, nothing kept.
    pub fn none() -> History<'static> {
        History {
            read: None,
            write: Path::new(""),
            mode: Mode::Init,
            issue: true,
        }
    }

    /// Whether the run keeps a context.
    pub fn keeps(&self) -> bool {
        !self.write.as_os_str().is_empty()
    }
}

/// Runs `inputs` with the context folder `dir`, in `mode` (`None`: auto); returns the L2A
/// header paths.
pub fn run(
    inputs: &[PathBuf],
    dir: &Path,
    mode: Option<Mode>,
    l2: &L2Options,
    opts: &Options,
) -> Result<Vec<PathBuf>> {
    let dates = inputs
        .iter()
        .map(|p| Ok(L1c::open(p)?.site.date))
        .collect::<Result<Vec<NaiveDate>>>()?;
    for (k, w) in dates.windows(2).enumerate() {
        if w[1] <= w[0] {
            return Err(VipError::bad_input(
                &inputs[k + 1],
                format!(
                    "dated {}, not after the L1C before it ({}): give the L1Cs oldest first",
                    w[1], w[0]
                ),
            ));
        }
    }
    let context = Context::open(dir)?;
    let first = dates[0];
    let max_age = i64::from(l2.params.clouds.max_age_days);
    let mode = match (mode, &context) {
        (Some(m), _) => m,
        (None, Some(c)) if (first - c.last_date()).num_days() <= max_age => Mode::Nominal,
        (None, _) if inputs.len() > 1 => Mode::Backward,
        (None, _) => Mode::Init,
    };
    if let Some(c) = &context {
        log::info!(
            "{}: context of {} ({} days before the first L1C): {} mode",
            dir.display(),
            c.last_date(),
            (first - c.last_date()).num_days(),
            name(mode)
        );
    }
    let mut not_issued = Vec::new();
    let out = match mode {
        Mode::Init => {
            let mut out = Vec::new();
            out.extend(issued(
                process(&inputs[0], l2, opts, &fresh(dir, Mode::Init)),
                &mut not_issued,
            )?);
            out.extend(nominal(&inputs[1..], dir, l2, opts, &mut not_issued)?);
            out
        }
        Mode::Nominal => {
            let Some(c) = &context else {
                return Err(VipError::bad_input(
                    dir,
                    "nominal mode needs the site's context: run --mode init or backward first",
                ));
            };
            let site = super::site_of(&L1c::open(&inputs[0])?);
            c.check(&site, first)?;
            drop(context);
            nominal(inputs, dir, l2, opts, &mut not_issued)?
        }
        Mode::Backward => {
            if let Some(c) = &context {
                let site = super::site_of(&L1c::open(&inputs[0])?);
                c.check(&site, first)?;
            }
            drop(context);
            backward(inputs, dir, l2, opts, &mut not_issued)?
        }
    };
    match not_issued.len() {
        0 => Ok(out),
        1 => Err(VipError::Verdict(not_issued.remove(0))),
        n => {
            // one line per date, then the summary the tool exits on
            for m in &not_issued {
                log::warn!("{m}");
            }
            Err(VipError::Verdict(format!(
                "{n} of {} dates not issued (too cloudy), the first: {}",
                inputs.len(),
                not_issued[0]
            )))
        }
    }
}

/// The product of a run, or `None` when it was not issued (too cloudy: its L2NOTV header
/// written, its verdict kept in `not_issued`, told at the end; the context stays as it was):
/// the other dates go on.
fn issued(result: Result<PathBuf>, not_issued: &mut Vec<String>) -> Result<Option<PathBuf>> {
    match result {
        Ok(p) => Ok(Some(p)),
        Err(VipError::Verdict(m)) => {
            not_issued.push(m);
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

fn name(mode: Mode) -> &'static str {
    match mode {
        Mode::Init => "init",
        Mode::Nominal => "nominal",
        Mode::Backward => "backward",
    }
}

fn fresh(dir: &Path, mode: Mode) -> History<'_> {
    History {
        read: None,
        write: dir,
        mode,
        issue: true,
    }
}

/// Each input with the context in `dir` as the previous one left it.
fn nominal(
    inputs: &[PathBuf],
    dir: &Path,
    l2: &L2Options,
    opts: &Options,
    not_issued: &mut Vec<String>,
) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in inputs {
        let context = Context::open(dir)?;
        let history = History {
            read: context.as_ref(),
            write: dir,
            mode: if context.is_some() {
                Mode::Nominal
            } else {
                Mode::Init
            },
            issue: true,
        };
        out.extend(issued(process(p, l2, opts, &history), not_issued)?);
    }
    Ok(out)
}

/// The backward mode (module doc): the history is built in a scratch folder beside `dir`,
/// removed at the end whatever happens.
fn backward(
    inputs: &[PathBuf],
    dir: &Path,
    l2: &L2Options,
    opts: &Options,
    not_issued: &mut Vec<String>,
) -> Result<Vec<PathBuf>> {
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    crate::raster::ensure_dir(parent)?;
    let scratch = tempfile::Builder::new()
        .prefix(".vip-backward-")
        .tempdir_in(parent)
        .map_err(|e| VipError::output_io(parent, &e))?;
    let history_dir = scratch.path().join("context");
    let products = scratch.path().join("products");
    let quiet = Options {
        output: products,
        ..opts.clone()
    };
    for p in inputs.iter().skip(1).rev() {
        let context = Context::open(&history_dir)?;
        let history = History {
            read: context.as_ref(),
            write: &history_dir,
            mode: if context.is_some() {
                Mode::Backward
            } else {
                Mode::Init
            },
            issue: false,
        };
        // a date too cloudy for a product adds nothing to the history either (and, issuing
        // nothing, this pass writes no L2NOTV header)
        if let Err(e) = process(p, l2, &quiet, &history) {
            match e {
                VipError::Verdict(m) => log::info!("backward pass: {m}"),
                e => return Err(e),
            }
        }
    }
    let built = Context::open(&history_dir)?;
    let first = History {
        read: built.as_ref(),
        write: dir,
        mode: Mode::Backward,
        issue: true,
    };
    let mut out = Vec::new();
    out.extend(issued(process(&inputs[0], l2, opts, &first), not_issued)?);
    drop(built);
    out.extend(nominal(&inputs[1..], dir, l2, opts, not_issued)?);
    Ok(out)
}
