//! Time series of one site: per-date statistics over the pixels that are stable and clear on
//! every date, and a linear trend per band, to spot calibration drift.
//!
//! The products must share the site and the grid. Each product's masks are summarised first
//! ([`super::masks`]): its cloud percentage (the processor's definition; the header's value
//! beside it), for an L2A its shadow, snow and water percentages, and its *clear* pixels (seen
//! by every band, no CLD bit ALL, no snow, no water, no edge). A date whose clear pixels are
//! fewer than [`SeriesOptions::min_clear_percentage`] percent of its seen pixels is reported as
//! such (`status` `too_few_clear_pixels`) with no means, and takes no part in the stable pixels
//! or the trends: a mostly cloudy date would otherwise leave no pixel stable on every date.
//!
//! A pixel is *stable* when, in every other product, every band of the series is valid (not
//! nodata, not NaN), no band is saturated (SAT bit) and it is clear (CLD without bit ALL, no
//! snow or water in MSK, no EDG in QLT OTH), for the products that have those masks. Defective
//! pixels (PIX) are kept: they are interpolated from their neighbours, and excluding them would
//! drop the detector columns that move from date to date.
//! For each date and band the mean and standard deviation of the physical values (reflectance
//! for an L1C) over the stable pixels are given, and the mean over the pixels valid,
//! unsaturated and clear on that date alone (`clear_mean`). The cloud percentage is measured
//! when the product's header declares one (cloud detection ran; otherwise the mask is a
//! placeholder and the cloud cover is not measured: null, `-` in the table), and the mean AOT
//! is that of the product's AOT layer over its valid pixels (null when the product has none:
//! only an L2A has one).
//!
//! The trend of a band is the least-squares line through (t, mean) with t in years (365.25
//! days) since the first acquisition: its slope per year, the slope's standard error
//! (sqrt(Σ residual² / (n − 2) / Σ (t − t̄)²), from 3 dates), and the relative drift per year
//! (slope / mean of the means). Sums are kept per row and added in row order: the figures do
//! not depend on `--threads` or `--ram`.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use rayon::prelude::*;
use serde::Serialize;

use super::compare::check_grids;
use super::input::{BandRef, Group, Handles, Input, Layer, Role};
use super::masks::Sources;
use crate::error::{Result, VipError};
use crate::raster::{self, Strips, Window};

/// Memory and threads of a series, and the clear pixels a date needs.
#[derive(Debug, Clone)]
pub struct SeriesOptions {
    pub ram_bytes: u64,
    pub threads: usize,
    /// Fewest clear pixels a date needs to be averaged, percent of its seen pixels.
    pub min_clear_percentage: f64,
}

/// The default of [`SeriesOptions::min_clear_percentage`]: the complement of the L2COMM's
/// `Max_Cloud_Percentage` (90), beyond which the chain issues no L2A.
pub const MIN_CLEAR_PERCENTAGE: f64 = 10.0;

/// Whether a date is averaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DateStatus {
    Ok,
    /// Fewer clear pixels than [`SeriesOptions::min_clear_percentage`]: no means.
    TooFewClearPixels,
}

impl DateStatus {
    fn label(self) -> &'static str {
        match self {
            DateStatus::Ok => "ok",
            DateStatus::TooFewClearPixels => "too_few_clear_pixels",
        }
    }
}

/// The series of a site.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    /// Site nick name (from the headers), when the products have one.
    pub site: Option<String>,
    /// The bands of the series, in product order.
    pub bands: Vec<String>,
    /// One entry per product, by acquisition time.
    pub dates: Vec<DatePoint>,
    /// One trend per band.
    pub trends: Vec<Trend>,
}

/// Statistics of one product of the series.
#[derive(Debug, Clone, Serialize)]
pub struct DatePoint {
    pub product: String,
    pub id: String,
    /// Acquisition time, `YYYY-MM-DDTHH:MM:SS` (UTC).
    pub acquisition: String,
    /// Years since the first acquisition of the series.
    pub years: f64,
    /// Cloudy pixels by the cloud mask, percent (the processor's definition, see
    /// [`super::masks`]); null when not measured (no cloud mask, or a header that declares no
    /// cloud percentage: no cloud detection ran).
    pub cloud_percentage: Option<f64>,
    /// The header's `Cloud_Percentage` (null when it declares none).
    pub header_cloud_percentage: Option<f64>,
    /// Cloud shadow, snow and water pixels, percent (an L2A's masks; null otherwise).
    pub shadow_percentage: Option<f64>,
    pub snow_percentage: Option<f64>,
    pub water_percentage: Option<f64>,
    /// Clear pixels: seen by every band, no cloud, snow, water or edge (null without masks).
    pub clear_pixels: Option<u64>,
    /// `ok`, or `too_few_clear_pixels`: then no mean.
    pub status: DateStatus,
    /// Mean aerosol optical thickness (null without an AOT layer).
    pub aot: Option<f64>,
    /// Mean physical value of each band over its stable pixels (null when there are none).
    pub mean: Vec<Option<f64>>,
    /// Standard deviation (population) of the same values.
    pub std: Vec<Option<f64>>,
    /// Mean of each band over the pixels valid, unsaturated and clear on this date.
    pub clear_mean: Vec<Option<f64>>,
}

/// Linear trend of one band.
#[derive(Debug, Clone, Serialize)]
pub struct Trend {
    pub band: String,
    /// Pixels stable on every date, on which the means are taken.
    pub stable_pixels: u64,
    /// Dates with a mean.
    pub dates: usize,
    /// Physical units per year (null with fewer than 2 distinct dates).
    pub slope_per_year: Option<f64>,
    /// Standard error of the slope (null with fewer than 3 dates).
    pub slope_stderr: Option<f64>,
    /// Value of the line at the first acquisition.
    pub intercept: Option<f64>,
    /// Mean of the per-date means.
    pub mean: Option<f64>,
    /// `slope_per_year / mean`: the fraction of the signal gained per year.
    pub relative_drift_per_year: Option<f64>,
}

/// A product's acquisition time and site, when its header gives them.
fn acquisition(input: &Input) -> Option<(NaiveDateTime, &str)> {
    if let Some(h) = &input.l2a {
        return Some((h.site.acquisition, &h.site.nick));
    }
    if let Some(h) = &input.l1c {
        return Some((h.site.acquisition, &h.site.nick));
    }
    input.l1a.as_ref().map(|h| (h.acquisition, h.nick.as_str()))
}

/// The series of `inputs` (any order). Products of another site or grid, without an
/// acquisition date, or lacking a band of the first product are bad inputs naming the file.
pub fn series(inputs: &[Input], opts: &SeriesOptions) -> Result<Series> {
    let first = inputs
        .first()
        .ok_or_else(|| VipError::Usage("no input product given".into()))?;
    let mut dated = Vec::with_capacity(inputs.len());
    for i in inputs {
        let Some((t, site)) = acquisition(i) else {
            return Err(VipError::bad_input(
                &i.path,
                "has no acquisition date (a series takes L2A, L1C or L1A products)",
            ));
        };
        dated.push((t, site, i));
    }
    let site = dated[0].1.to_string();
    if let Some((_, other, i)) = dated.iter().find(|(_, s, _)| *s != site) {
        return Err(VipError::bad_input(
            &i.path,
            format!(
                "is of site {other}, {} is of site {site}: a series is of one site",
                first.path.display()
            ),
        ));
    }
    dated.sort_by_key(|(t, _, _)| *t);
    let products: Vec<&Input> = dated.iter().map(|(_, _, i)| *i).collect();
    let t0 = dated[0].0;
    let years: Vec<f64> = dated
        .iter()
        .map(|(t, _, _)| (*t - t0).num_milliseconds() as f64 / (365.25 * 86_400_000.0))
        .collect();

    let summaries = products
        .iter()
        .map(|p| super::masks::summarise(p, opts.ram_bytes, opts.threads))
        .collect::<Result<Vec<_>>>()?;
    let usable: Vec<bool> = summaries
        .iter()
        .map(|m| {
            m.as_ref().is_none_or(|m| {
                m.clear_pixels > 0 && m.clear_percentage() >= opts.min_clear_percentage
            })
        })
        .collect();
    for ((p, m), ok) in products.iter().zip(&summaries).zip(&usable) {
        if let (Some(m), false) = (m, ok) {
            log::warn!(
                "{}: {:.1} % clear pixels, fewer than {} %: not averaged",
                p.id,
                m.clear_percentage(),
                opts.min_clear_percentage
            );
        }
    }

    let reference = products[0];
    let mut bands = Vec::new();
    let mut per_band: Vec<BandSums> = Vec::new();
    for g in &reference.groups {
        let names: Vec<&str> = g
            .layers
            .iter()
            .filter(|l| l.role != Role::Mask && l.spectral.is_some())
            .map(|l| l.name.as_str())
            .collect();
        if names.is_empty() {
            continue;
        }
        let groups = matching_groups(g, &names, &products, &usable)?;
        let acc = group_series(&groups, &names, opts)?;
        let total = |rows: &BTreeMap<usize, Vec<Vec<Sums>>>, k: usize, li: usize| {
            rows.values()
                .fold(Sums::default(), |t, r: &Vec<Vec<Sums>>| t.add(r[k][li]))
        };
        for (li, name) in names.iter().enumerate() {
            bands.push(name.to_string());
            per_band.push(BandSums {
                stable: acc.stable,
                sums: (0..products.len())
                    .map(|k| total(&acc.rows, k, li))
                    .collect(),
                clear: (0..products.len())
                    .map(|k| total(&acc.clear_rows, k, li))
                    .collect(),
            });
        }
    }
    if bands.is_empty() {
        return Err(VipError::bad_input(
            &reference.path,
            "has no spectral band to follow",
        ));
    }
    let aot = products
        .iter()
        .map(|p| mean_aot(p, opts))
        .collect::<Result<Vec<_>>>()?;
    let dates = products
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let m = summaries[k].as_ref();
            let ok = usable[k];
            DatePoint {
                product: p.path.display().to_string(),
                id: p.id.clone(),
                acquisition: dated[k].0.format("%Y-%m-%dT%H:%M:%S").to_string(),
                years: years[k],
                cloud_percentage: m
                    .filter(|_| p.declared_cloud_percentage().is_some())
                    .map(|m| m.cloud_percentage),
                header_cloud_percentage: p.declared_cloud_percentage(),
                shadow_percentage: m.and_then(|m| m.shadow_percentage),
                snow_percentage: m.and_then(|m| m.snow_percentage),
                water_percentage: m.and_then(|m| m.water_percentage),
                clear_pixels: m.map(|m| m.clear_pixels),
                status: if ok {
                    DateStatus::Ok
                } else {
                    DateStatus::TooFewClearPixels
                },
                aot: aot[k],
                mean: per_band
                    .iter()
                    .map(|b| b.sums[k].mean().filter(|_| ok))
                    .collect(),
                std: per_band
                    .iter()
                    .map(|b| b.sums[k].std().filter(|_| ok))
                    .collect(),
                clear_mean: per_band
                    .iter()
                    .map(|b| b.clear[k].mean().filter(|_| ok))
                    .collect(),
            }
        })
        .collect::<Vec<_>>();
    let trends = bands
        .iter()
        .enumerate()
        .map(|(b, name)| {
            let points: Vec<(f64, f64)> = dates
                .iter()
                .filter_map(|d| d.mean[b].map(|m| (d.years, m)))
                .collect();
            trend(name, per_band[b].stable, &points)
        })
        .collect();
    Ok(Series {
        site: Some(site),
        bands,
        dates,
        trends,
    })
}

/// Least-squares line through `points` (t, value).
fn trend(band: &str, stable_pixels: u64, points: &[(f64, f64)]) -> Trend {
    let n = points.len();
    let nf = n as f64;
    let mean_t = points.iter().map(|p| p.0).sum::<f64>() / nf;
    let mean_v = points.iter().map(|p| p.1).sum::<f64>() / nf;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_t).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_t) * (p.1 - mean_v)).sum();
    let slope = (n >= 2 && sxx > 0.0).then(|| sxy / sxx);
    let intercept = slope.map(|s| mean_v - s * mean_t);
    let stderr = slope.filter(|_| n >= 3).map(|s| {
        let ssr: f64 = points
            .iter()
            .map(|p| (p.1 - (mean_v + s * (p.0 - mean_t))).powi(2))
            .sum();
        (ssr / (nf - 2.0) / sxx).sqrt()
    });
    let mean = (n > 0).then_some(mean_v);
    Trend {
        band: band.to_string(),
        stable_pixels,
        dates: n,
        slope_per_year: slope,
        slope_stderr: stderr,
        intercept,
        mean,
        relative_drift_per_year: slope
            .zip(mean)
            .filter(|(_, m)| *m != 0.0)
            .map(|(s, m)| s / m),
    }
}

/// Count, sum and sum of squares of physical values.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    n: u64,
    sum: f64,
    sum2: f64,
}

impl Sums {
    fn add(self, o: Sums) -> Sums {
        Sums {
            n: self.n + o.n,
            sum: self.sum + o.sum,
            sum2: self.sum2 + o.sum2,
        }
    }

    fn mean(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }

    fn std(&self) -> Option<f64> {
        self.mean()
            .map(|m| (self.sum2 / self.n as f64 - m * m).max(0.0).sqrt())
    }
}

struct BandSums {
    stable: u64,
    /// Per product, over the stable pixels.
    sums: Vec<Sums>,
    /// Per product, over its own clear pixels.
    clear: Vec<Sums>,
}

/// The group of one product that holds the series' bands of a reference group.
struct Matched<'a> {
    group: &'a Group,
    /// The layers, in the order of the band names.
    layers: Vec<&'a Layer>,
    /// Its cloud, snow, water and edge masks, when the product has them.
    masks: Option<Sources<'a>>,
    /// Whether the date has enough clear pixels to count.
    usable: bool,
}

fn matching_groups<'a>(
    reference: &Group,
    names: &[&str],
    products: &[&'a Input],
    usable: &[bool],
) -> Result<Vec<Matched<'a>>> {
    let mut out = Vec::with_capacity(products.len());
    for (k, p) in products.iter().enumerate() {
        let mut group: Option<&Group> = None;
        let mut layers = Vec::with_capacity(names.len());
        for name in names {
            let Some((g, l)) = p.layer(name) else {
                return Err(VipError::bad_input(
                    &p.path,
                    format!(
                        "has no band {name}, which {} has",
                        products[0].path.display()
                    ),
                ));
            };
            match group {
                Some(prev) if !std::ptr::eq(prev, g) => {
                    return Err(VipError::bad_input(
                        &l.path,
                        format!("band {name} is not on the grid of the other bands"),
                    ))
                }
                _ => group = Some(g),
            }
            layers.push(l);
        }
        let group = group.expect("at least one band name");
        check_grids(reference, group, products[0], p)?;
        let masks = Sources::of(p).filter(|s| std::ptr::eq(s.group(), group));
        out.push(Matched {
            group,
            layers,
            masks,
            usable: usable[k],
        });
    }
    Ok(out)
}

/// What the strips of one group add up.
#[derive(Default)]
struct GroupAcc {
    /// Per row: per product, per band; over the stable pixels.
    rows: BTreeMap<usize, Vec<Vec<Sums>>>,
    /// The same over each product's own clear pixels.
    clear_rows: BTreeMap<usize, Vec<Vec<Sums>>>,
    stable: u64,
}

impl GroupAcc {
    fn merge(mut self, o: GroupAcc) -> GroupAcc {
        self.rows.extend(o.rows);
        self.clear_rows.extend(o.clear_rows);
        self.stable += o.stable;
        self
    }
}

fn group_series(groups: &[Matched], names: &[&str], opts: &SeriesOptions) -> Result<GroupAcc> {
    let g0 = groups[0].group;
    // Per product: an f64 per band, an i32 mask, three mask bytes and two flags; plus the
    // stable flags.
    let per_col = groups.len() * (names.len() * 8 + 4 + 4 + 3 + 2) + 1;
    let budget = opts.ram_bytes / opts.threads.max(1) as u64;
    let strips: Vec<Window> = Strips::for_budget(g0.height, g0.width, budget, per_col).collect();
    strips
        .par_iter()
        .map(|&w| strip_series(groups, w))
        .try_reduce(GroupAcc::default, |a, b| Ok(a.merge(b)))
}

fn read_mask(
    h: &mut Handles,
    m: &Option<BandRef>,
    width: usize,
    win: Window,
) -> Result<Option<Vec<i32>>> {
    match m {
        Some((p, b)) => Ok(Some(raster::read_window(
            h.get(p)?,
            *b,
            (0, win.row),
            (width, win.rows),
        )?)),
        None => Ok(None),
    }
}

fn strip_series(groups: &[Matched], win: Window) -> Result<GroupAcc> {
    let width = groups[0].group.width;
    let n = width * win.rows;
    let mut h = Handles::default();
    let mut stable = vec![true; n];
    let mut values: Vec<Vec<Vec<f64>>> = Vec::with_capacity(groups.len());
    let mut own: Vec<Vec<bool>> = Vec::with_capacity(groups.len());
    for m in groups {
        // Valid in every band of the series, unsaturated and clear on this date.
        let mut ok = vec![true; n];
        let mut bands = Vec::with_capacity(m.layers.len());
        for l in &m.layers {
            let ds = h.get(&l.path)?;
            let mut v: Vec<f64> = raster::read_window(ds, l.band, (0, win.row), (width, win.rows))?;
            let (scale, offset) = (l.scale.unwrap_or(1.0), l.offset.unwrap_or(0.0));
            for (x, o) in v.iter_mut().zip(ok.iter_mut()) {
                if x.is_nan() || Some(*x) == l.nodata {
                    *o = false;
                }
                *x = *x * scale + offset;
            }
            bands.push(v);
        }
        // Bits of the series' bands in the SAT mask.
        let bits: i32 = m
            .layers
            .iter()
            .filter_map(|l| l.spectral)
            .fold(0, |b, s| b | 1 << s);
        if let Some(v) = read_mask(&mut h, &m.group.sat, width, win)? {
            for (o, x) in ok.iter_mut().zip(&v) {
                *o &= x & bits == 0;
            }
        }
        if let Some(src) = &m.masks {
            let masks = super::masks::read_strip(src, &mut h, win, false)?;
            for (k, o) in ok.iter_mut().enumerate() {
                *o &= masks.clear_masks(k);
            }
        }
        if m.usable {
            for (s, o) in stable.iter_mut().zip(&ok) {
                *s &= o;
            }
        }
        values.push(bands);
        own.push(ok);
    }
    let mut acc = GroupAcc {
        stable: stable.iter().filter(|&&s| s).count() as u64,
        ..Default::default()
    };
    let sums = |v: &[f64], keep: &[bool]| {
        let mut s = Sums::default();
        for (x, _) in v.iter().zip(keep).filter(|(_, &ok)| ok) {
            s.n += 1;
            s.sum += x;
            s.sum2 += x * x;
        }
        s
    };
    for r in 0..win.rows {
        let cols = r * width..(r + 1) * width;
        let row = values
            .iter()
            .map(|bands| {
                bands
                    .iter()
                    .map(|v| sums(&v[cols.clone()], &stable[cols.clone()]))
                    .collect()
            })
            .collect();
        acc.rows.insert(win.row + r, row);
        let row = values
            .iter()
            .zip(&own)
            .map(|(bands, ok)| {
                bands
                    .iter()
                    .map(|v| sums(&v[cols.clone()], &ok[cols.clone()]))
                    .collect()
            })
            .collect();
        acc.clear_rows.insert(win.row + r, row);
    }
    Ok(acc)
}

/// Mean of the product's AOT layer over its valid pixels, when it has one.
fn mean_aot(p: &Input, opts: &SeriesOptions) -> Result<Option<f64>> {
    let Some((g, l)) = p.groups.iter().find_map(|g| g.aot.as_ref().map(|l| (g, l))) else {
        return Ok(None);
    };
    let budget = opts.ram_bytes / opts.threads.max(1) as u64;
    let strips: Vec<Window> = Strips::for_budget(g.height, g.width, budget, 8).collect();
    let rows = strips
        .par_iter()
        .map(|&w| -> Result<Vec<(usize, Sums)>> {
            let ds = raster::open(&l.path)?;
            let v: Vec<f64> = raster::read_window(&ds, l.band, (0, w.row), (g.width, w.rows))?;
            Ok(v.chunks(g.width)
                .enumerate()
                .map(|(r, row)| {
                    let mut s = Sums::default();
                    for &x in row.iter().filter(|x| !x.is_nan() && Some(**x) != l.nodata) {
                        s.n += 1;
                        s.sum += x * l.scale.unwrap_or(1.0) + l.offset.unwrap_or(0.0);
                    }
                    (w.row + r, s)
                })
                .collect())
        })
        .collect::<Result<Vec<_>>>()?;
    let total = rows
        .into_iter()
        .flatten()
        .collect::<BTreeMap<_, _>>()
        .into_values()
        .fold(Sums::default(), Sums::add);
    Ok(total.mean())
}

/// Tab-separated values: one line per date (acquisition, product id, cloud % or `-` where not
/// measured, AOT, the header's cloud %, shadow, snow and water %, clear pixels, status, the mean
/// of each band; `NA` where there is no value), a blank line, then one line per band with its
/// trend.
pub fn tsv(s: &Series) -> String {
    let f = |v: Option<f64>| v.map_or("NA".to_string(), |v| format!("{v}"));
    let mut out = String::from(
        "acquisition\tproduct\tcloud_percentage\taot\theader_cloud_percentage\t\
         shadow_percentage\tsnow_percentage\twater_percentage\tclear_pixels\tstatus",
    );
    for b in &s.bands {
        out += &format!("\t{b}");
    }
    out.push('\n');
    for d in &s.dates {
        out += &format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            d.acquisition,
            d.id,
            d.cloud_percentage
                .map_or("-".to_string(), |v| format!("{v}")),
            f(d.aot),
            f(d.header_cloud_percentage),
            f(d.shadow_percentage),
            f(d.snow_percentage),
            f(d.water_percentage),
            d.clear_pixels.map_or("NA".to_string(), |v| v.to_string()),
            d.status.label()
        );
        for m in &d.mean {
            out += &format!("\t{}", f(*m));
        }
        out.push('\n');
    }
    out += "\nband\tstable_pixels\tdates\tslope_per_year\tslope_stderr\tintercept\tmean\trelative_drift_per_year\n";
    for t in &s.trends {
        out += &format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
            t.band,
            t.stable_pixels,
            t.dates,
            f(t.slope_per_year),
            f(t.slope_stderr),
            f(t.intercept),
            f(t.mean),
            f(t.relative_drift_per_year)
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trend_of_a_line_is_exact_and_its_error_zero() {
        let pts: Vec<(f64, f64)> = (0..5)
            .map(|i| (i as f64 * 0.5, 0.2 + 0.01 * i as f64 * 0.5))
            .collect();
        let t = trend("B01", 10, &pts);
        assert!((t.slope_per_year.unwrap() - 0.01).abs() < 1e-12);
        assert!((t.intercept.unwrap() - 0.2).abs() < 1e-12);
        assert!(t.slope_stderr.unwrap() < 1e-9);
        assert!((t.relative_drift_per_year.unwrap() - 0.01 / 0.21).abs() < 1e-9);
    }

    #[test]
    fn standard_error_matches_the_closed_form() {
        // Points (0,0), (1,1), (2,0): slope 0, residuals -1/3, 2/3, -1/3 → SSR 2/3,
        // Sxx 2, stderr sqrt((2/3) / 1 / 2) = sqrt(1/3).
        let t = trend("B01", 1, &[(0.0, 0.0), (1.0, 1.0), (2.0, 0.0)]);
        assert!(t.slope_per_year.unwrap().abs() < 1e-15);
        assert!((t.slope_stderr.unwrap() - (1.0f64 / 3.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn too_few_dates_give_no_slope() {
        let t = trend("B01", 1, &[(0.0, 1.0)]);
        assert!(t.slope_per_year.is_none() && t.slope_stderr.is_none());
        let t = trend("B01", 1, &[(0.0, 1.0), (1.0, 2.0)]);
        assert_eq!(t.slope_per_year, Some(1.0));
        assert!(t.slope_stderr.is_none());
    }
}
