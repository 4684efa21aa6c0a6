//! Exact per-band statistics, streamed over strips sized by `--ram`.
//!
//! Integer bands (8 and 16 bits) are reduced to the histogram of every value, which gives the
//! count, minimum, maximum, mean and standard deviation exactly (integer sums), percentiles
//! exactly and any coarser histogram exactly. Float bands take two passes: moments per row
//! merged in row order (so the result does not depend on strips or threads), then a
//! 65 536-bin histogram between the extremes for the percentiles.
//!
//! Definitions (the same as `gdalinfo -stats -hist`): a pixel is valid when it is not the
//! band's nodata value (nor NaN); the standard deviation is the population one (divided by n);
//! [`GdalHistogram`] has GDAL's default 256 buckets from min − h to max + h,
//! h = (max − min) / 510. Percentile p is the smallest value v such that at least p % of the
//! valid pixels are ≤ v (numpy's `inverted_cdf`). For an L1C or L2A, each reflectance band is
//! also split by the cloud mask (`clear`: CLD = 0, `cloud`: CLD bit ALL, an L1C's 1) and the
//! fractions of saturated (SAT bit n−1), defective (PIX bit n−1) and cloudy pixels are counted;
//! a mask band reports how many pixels have each bit set; the product's cloud, shadow, snow and
//! water percentages and clear pixels are given beside ([`super::masks`]).
//!
//! Reading: strips are whole rows of blocks (256 lines for VIP's tiles); all the integer bands
//! of a file are read in one call, so a pixel-interleaved tile is decoded once for every band;
//! each worker (`--threads`) keeps its handles, buffers and histograms from strip to strip.
//! The saturated, defective and cloudy counts and the mask bits come from the masks' value
//! histograms, so the per-pixel loop is one histogram increment per band.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::Serialize;

use super::input::{BandRef, Group, Handles, Input, Kind, Layer, Role};
use super::masks::MaskSummary;
use crate::error::{Result, VipError};
use crate::raster::{self, SampleType, Strips, Window, TILE_ROWS};

/// Percentiles reported, in percent.
pub const PERCENTILES: [f64; 11] = [
    1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 98.0, 99.0,
];
/// Buckets of the reported histogram (GDAL's default).
pub const BUCKETS: usize = 256;
/// Bins of the float bands' percentile histogram.
const FLOAT_BINS: usize = 65536;

/// Statistics of one input.
#[derive(Debug, Clone, Serialize)]
pub struct ProductStats {
    pub product: String,
    pub kind: Kind,
    pub id: String,
    pub bands: Vec<BandStats>,
    /// Cloud, shadow, snow and water percentages of an L2A or L1C ([`super::masks`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub masks: Option<MaskSummary>,
}

/// Statistics of one band.
#[derive(Debug, Clone, Serialize)]
pub struct BandStats {
    pub name: String,
    pub file: String,
    /// 1-based band in `file`.
    pub band: usize,
    pub role: Role,
    pub width: usize,
    pub height: usize,
    pub nodata: Option<f64>,
    pub scale: Option<f64>,
    pub offset: Option<f64>,
    /// Pixels in the band.
    pub count: u64,
    pub valid_fraction: f64,
    pub nodata_fraction: f64,
    /// Of all pixels: SAT bit set (L1C reflectance bands).
    pub saturated_fraction: Option<f64>,
    /// Of all pixels: PIX bit set (L1C reflectance bands).
    pub defective_fraction: Option<f64>,
    /// Of the valid pixels: CLD bit ALL set (L1C and L2A reflectance bands).
    pub cloudy_fraction: Option<f64>,
    /// Over the valid pixels, raw values (apply `scale` and `offset` for physical ones).
    #[serde(flatten)]
    pub summary: Summary,
    /// None for a constant band (as GDAL).
    pub histogram: Option<GdalHistogram>,
    /// The same statistics per mask class (`clear`, `cloud`), when the product has a cloud mask.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub classes: BTreeMap<String, Summary>,
    /// For mask bands: pixels with bit k set, for each bit used.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub bits: BTreeMap<u32, u64>,
}

/// Count, extremes, moments and percentiles of a set of values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub valid: u64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    pub std: Option<f64>,
    /// `p1` … `p99` (see [`PERCENTILES`]).
    pub percentiles: BTreeMap<String, f64>,
}

/// A histogram as `gdalinfo -hist` gives it: `buckets.len()` equal buckets from `min` to
/// `max`, values outside counted in the end buckets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GdalHistogram {
    pub min: f64,
    pub max: f64,
    pub buckets: Vec<u64>,
}

impl GdalHistogram {
    /// GDAL's default bounds for a band of `sample` type whose values span `lo..=hi`.
    fn default_bounds(sample: SampleType, lo: f64, hi: f64) -> (f64, f64) {
        if sample == SampleType::U8 {
            (-0.5, 255.5)
        } else {
            let h = (hi - lo) / (2.0 * (BUCKETS - 1) as f64);
            (lo - h, hi + h)
        }
    }

    fn new(min: f64, max: f64) -> Self {
        GdalHistogram {
            min,
            max,
            buckets: vec![0; BUCKETS],
        }
    }

    /// Bucket of `v` (GDAL's formula; out-of-range values go to the end buckets).
    fn bucket(&self, v: f64) -> usize {
        let scale = BUCKETS as f64 / (self.max - self.min);
        let i = ((v - self.min) * scale).floor();
        if i.is_nan() || i < 0.0 {
            0
        } else if i >= BUCKETS as f64 {
            BUCKETS - 1
        } else {
            i as usize
        }
    }
}

/// How statistics are computed.
#[derive(Debug, Clone, Copy)]
pub struct StatsOptions {
    /// Memory budget for strip buffers, bytes.
    pub ram_bytes: u64,
    /// Worker threads sharing the budget.
    pub threads: usize,
}

impl From<&crate::cli::Options> for StatsOptions {
    fn from(o: &crate::cli::Options) -> Self {
        StatsOptions {
            ram_bytes: o.ram_bytes,
            threads: o.threads.max(1),
        }
    }
}

/// Statistics of every band of `input`.
pub fn stats(input: &Input, opts: &StatsOptions) -> Result<ProductStats> {
    let mut bands = Vec::new();
    for g in &input.groups {
        bands.extend(group_stats(g, opts)?);
    }
    Ok(ProductStats {
        product: input.path.display().to_string(),
        kind: input.kind,
        id: input.id.clone(),
        bands,
        masks: super::masks::summarise(input, opts.ram_bytes, opts.threads)?,
    })
}

/// Class of each pixel: 0 clear (or no mask), 1 cloud (CLD bit ALL), 2 any other CLD value.
const CLASSES: [&str; 3] = ["clear", "cloud", "other"];

/// What a group's strips add up to, per layer.
#[derive(Clone, Default)]
struct LayerAcc {
    nodata: u64,
    saturated: u64,
    defective: u64,
    cloudy: u64,
    /// Integer layers: count of each value (index = value − offset), per class.
    hist: [Vec<u64>; 3],
    /// Float layers: moments of each row, per class, keyed by row.
    rows: BTreeMap<usize, [Moments; 3]>,
    /// Float layers, second pass: fine bins and the GDAL histogram, per class.
    fine: [Vec<u64>; 3],
    gdal: Option<Vec<u64>>,
    bits: [u64; 16],
}

impl LayerAcc {
    fn merge(mut self, o: LayerAcc) -> LayerAcc {
        self.nodata += o.nodata;
        for c in 0..3 {
            add_into(&mut self.fine[c], &o.fine[c]);
        }
        self.rows.extend(o.rows);
        match (&mut self.gdal, o.gdal) {
            (Some(a), Some(b)) => add_into(a, &b),
            (a @ None, b) => *a = b,
            _ => {}
        }
        self
    }
}

/// An integer raster band counted value by value: a layer, or a mask of the group that is
/// not one of its layers.
struct Source {
    path: std::path::PathBuf,
    band: usize,
    sample: SampleType,
    /// Value of histogram bin 0, and the number of bins per class.
    off: i32,
    span: usize,
}

/// The integer bands of a group, read file by file (each block decoded once for all the bands
/// of a file), and where the masks are among them.
struct Plan {
    sources: Vec<Source>,
    /// Indices into `sources` of the bands of each file, in band order.
    files: Vec<Vec<usize>>,
    /// Source of each layer (None for a float layer).
    layer_source: Vec<Option<usize>>,
    sat: Option<usize>,
    pix: Option<usize>,
    cld: Option<usize>,
}

impl Plan {
    fn new(g: &Group) -> Plan {
        let mut sources: Vec<Source> = Vec::new();
        let mut find_or_add = |path: &std::path::Path, band: usize, sample: SampleType| {
            let (off, span) = int_span(sample)?;
            if let Some(i) = sources
                .iter()
                .position(|s| s.path == path && s.band == band)
            {
                return Some(i);
            }
            sources.push(Source {
                path: path.to_path_buf(),
                band,
                sample,
                off,
                span,
            });
            Some(sources.len() - 1)
        };
        let layer_source: Vec<Option<usize>> = g
            .layers
            .iter()
            .map(|l| find_or_add(&l.path, l.band, l.sample))
            .collect();
        let mut mask = |m: &Option<BandRef>| {
            m.as_ref().and_then(|(p, b)| {
                let sample = g
                    .layers
                    .iter()
                    .find(|l| &l.path == p)
                    .map_or(SampleType::I16, |l| l.sample);
                find_or_add(p, *b, sample)
            })
        };
        let (sat, pix, cld) = (mask(&g.sat), mask(&g.pix), mask(&g.cld));
        let mut files: Vec<Vec<usize>> = Vec::new();
        for (i, s) in sources.iter().enumerate() {
            match files.iter_mut().find(|f| {
                let first = &sources[f[0]];
                first.path == s.path && first.sample == s.sample
            }) {
                Some(f) => f.push(i),
                None => files.push(vec![i]),
            }
        }
        for f in &mut files {
            f.sort_by_key(|&i| sources[i].band);
        }
        Plan {
            sources,
            files,
            layer_source,
            sat,
            pix,
            cld,
        }
    }
}

/// Native samples of the integer bands of one file, band after band.
enum Samples {
    U8(Vec<u8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
}

impl Samples {
    /// Reads `bands` of the rows of `win` into `reuse`'s buffer when it has the right type
    /// (no fresh pages per strip), else into a new one.
    fn read(
        ds: &gdal::Dataset,
        sample: SampleType,
        bands: &[usize],
        w: usize,
        win: Window,
        reuse: Option<Samples>,
    ) -> Result<Samples> {
        fn get<T: gdal::raster::GdalType + Copy + Default>(
            ds: &gdal::Dataset,
            bands: &[usize],
            w: usize,
            win: Window,
            mut buf: Vec<T>,
        ) -> Result<Vec<T>> {
            buf.resize(bands.len() * w * win.rows, T::default());
            let size = (w, win.rows);
            raster::read_bands_into(ds, bands, (0, win.row), size, size, &mut buf)?;
            Ok(buf)
        }
        Ok(match (sample, reuse) {
            (SampleType::U8, Some(Samples::U8(v))) => Samples::U8(get(ds, bands, w, win, v)?),
            (SampleType::U8, _) => Samples::U8(get(ds, bands, w, win, Vec::new())?),
            (SampleType::U16, Some(Samples::U16(v))) => Samples::U16(get(ds, bands, w, win, v)?),
            (SampleType::U16, _) => Samples::U16(get(ds, bands, w, win, Vec::new())?),
            (SampleType::I16, Some(Samples::I16(v))) => Samples::I16(get(ds, bands, w, win, v)?),
            (SampleType::I16, _) => Samples::I16(get(ds, bands, w, win, Vec::new())?),
            (SampleType::F32, _) => {
                return Err(VipError::Internal(
                    "float samples counted as integers".into(),
                ))
            }
        })
    }

    /// Adds band `k`'s `n` samples to `hist`: bin class × span + value − off.
    fn tally(&self, k: usize, n: usize, class: &[u8], off: i32, span: usize, hist: &mut [u64]) {
        fn go<T: Copy + Into<i32>>(v: &[T], class: &[u8], off: i32, span: usize, hist: &mut [u64]) {
            if span == 0 {
                return;
            }
            for (&x, &c) in v.iter().zip(class) {
                hist[c as usize * span + (x.into() - off) as usize] += 1;
            }
        }
        let r = k * n..(k + 1) * n;
        match self {
            Samples::U8(v) => go(&v[r], class, off, span, hist),
            Samples::U16(v) => go(&v[r], class, off, span, hist),
            Samples::I16(v) => go(&v[r], class, off, span, hist),
        }
    }

    /// Class of each of band `k`'s `n` samples read as a cloud mask: 0 clear, 1 cloud (bit
    /// ALL: an L1C's 1; an L2A's clouds, their extension and shadows), 2 other.
    fn classes(&self, k: usize, n: usize) -> Vec<u8> {
        fn go<T: Copy + Into<i32>>(v: &[T]) -> Vec<u8> {
            v.iter()
                .map(|&x| match x.into() {
                    0 => 0,
                    x if x & 1 != 0 => 1,
                    _ => 2,
                })
                .collect()
        }
        let r = k * n..(k + 1) * n;
        match self {
            Samples::U8(v) => go(&v[r]),
            Samples::U16(v) => go(&v[r]),
            Samples::I16(v) => go(&v[r]),
        }
    }
}

/// What the strips a worker took add up to: a value histogram per integer source (all three
/// classes side by side) and the float layers' accumulators.
struct Tally {
    hists: Vec<Vec<u64>>,
    floats: Vec<LayerAcc>,
}

impl Tally {
    fn new(plan: &Plan, layers: usize) -> Tally {
        Tally {
            hists: plan.sources.iter().map(|s| vec![0; 3 * s.span]).collect(),
            floats: vec![LayerAcc::default(); layers],
        }
    }

    fn merge(mut self, o: Tally) -> Tally {
        for (a, b) in self.hists.iter_mut().zip(&o.hists) {
            a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        }
        self.floats = self
            .floats
            .into_iter()
            .zip(o.floats)
            .map(|(a, b)| a.merge(b))
            .collect();
        self
    }
}

fn add_into(a: &mut Vec<u64>, b: &[u64]) {
    if b.is_empty() {
        return;
    }
    if a.is_empty() {
        a.extend_from_slice(b);
    } else {
        a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
    }
}

/// Count, mean and sum of squared deviations, with extremes (Chan et al. merge).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Moments {
    n: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Default for Moments {
    fn default() -> Self {
        Moments {
            n: 0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Moments {
    fn of(values: &[f64]) -> Moments {
        if values.is_empty() {
            return Moments::default();
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let m2 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
        let (min, max) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        Moments {
            n: values.len() as u64,
            mean,
            m2,
            min,
            max,
        }
    }

    fn merge(self, o: Moments) -> Moments {
        if o.n == 0 {
            return self;
        }
        if self.n == 0 {
            return o;
        }
        let n = self.n + o.n;
        let d = o.mean - self.mean;
        let (na, nb, nn) = (self.n as f64, o.n as f64, n as f64);
        Moments {
            n,
            mean: self.mean + d * nb / nn,
            m2: self.m2 + o.m2 + d * d * na * nb / nn,
            min: self.min.min(o.min),
            max: self.max.max(o.max),
        }
    }
}

/// Offset and size of the value histogram of an integer sample type.
fn int_span(sample: SampleType) -> Option<(i32, usize)> {
    match sample {
        SampleType::U8 => Some((0, 256)),
        SampleType::U16 => Some((0, 65536)),
        SampleType::I16 => Some((-32768, 65536)),
        SampleType::F32 => None,
    }
}

/// The integer nodata of a layer, when it is one its samples can hold.
fn int_nodata(l: &Layer) -> Option<i32> {
    let (off, n) = int_span(l.sample)?;
    let v = l.nodata?;
    (v.fract() == 0.0 && v >= off as f64 && v < (off as f64 + n as f64)).then_some(v as i32)
}

/// Float layers' extremes (from the first pass) that the second pass bins between.
type Bounds = Vec<Option<(f64, f64)>>;

/// One strip of a group added to `t`: the integer sources and the float layers' moments
/// (pass 1, `bounds` None), or the float layers' bins (pass 2).
fn strip_pass(
    g: &Group,
    plan: &Plan,
    win: Window,
    bounds: Option<&Bounds>,
    t: &mut Tally,
    w: &mut Worker,
) -> Result<()> {
    let n = g.width * win.rows;
    let h = &mut w.handles;
    // Pass 2 only needs the cloud mask of the integer sources.
    let files: Vec<&Vec<usize>> = plan
        .files
        .iter()
        .filter(|f| bounds.is_none() || plan.cld.is_some_and(|c| f.contains(&c)))
        .collect();
    let mut read = Vec::with_capacity(files.len());
    let mut spare = std::mem::take(&mut w.buffers).into_iter();
    for f in &files {
        let first = &plan.sources[f[0]];
        let bands: Vec<usize> = f.iter().map(|&i| plan.sources[i].band).collect();
        let ds = h.get(&first.path)?;
        read.push(Samples::read(
            ds,
            first.sample,
            &bands,
            g.width,
            win,
            spare.next(),
        )?);
    }
    let at = |src: usize| {
        files
            .iter()
            .enumerate()
            .find_map(|(fi, f)| f.iter().position(|&i| i == src).map(|k| (fi, k)))
    };
    let class = match plan.cld.and_then(at) {
        Some((fi, k)) => read[fi].classes(k, n),
        None => vec![0; n],
    };
    if bounds.is_none() {
        for (f, samples) in files.iter().zip(&read) {
            for (k, &i) in f.iter().enumerate() {
                let s = &plan.sources[i];
                samples.tally(k, n, &class, s.off, s.span, &mut t.hists[i]);
            }
        }
    }
    for (li, l) in g.layers.iter().enumerate() {
        if plan.layer_source[li].is_some() {
            continue;
        }
        let acc = &mut t.floats[li];
        let ds = h.get(&l.path)?;
        let data: Vec<f64> = raster::read_window(ds, l.band, (0, win.row), (g.width, win.rows))?;
        let Some(bounds) = bounds else {
            let mut vals: [Vec<f64>; 3] = Default::default();
            for (r, row) in data.chunks(g.width).enumerate() {
                vals.iter_mut().for_each(Vec::clear);
                let cls = &class[r * g.width..(r + 1) * g.width];
                for (&v, &c) in row.iter().zip(cls) {
                    if v.is_nan() || Some(v) == l.nodata {
                        acc.nodata += 1;
                    } else {
                        vals[c as usize].push(v);
                    }
                }
                acc.rows.insert(
                    win.row + r,
                    [
                        Moments::of(&vals[0]),
                        Moments::of(&vals[1]),
                        Moments::of(&vals[2]),
                    ],
                );
            }
            continue;
        };
        let Some((lo, hi)) = bounds[li] else {
            continue;
        };
        let (hlo, hhi) = GdalHistogram::default_bounds(l.sample, lo, hi);
        let gh = GdalHistogram::new(hlo, hhi);
        let gdal = acc.gdal.get_or_insert_with(|| vec![0u64; BUCKETS]);
        for c in acc.fine.iter_mut() {
            c.resize(FLOAT_BINS, 0);
        }
        for (&v, &c) in data.iter().zip(&class) {
            if v.is_nan() || Some(v) == l.nodata {
                continue;
            }
            gdal[gh.bucket(v)] += 1;
            acc.fine[c as usize][fine_bin(v, lo, hi)] += 1;
        }
    }
    w.buffers = read;
    Ok(())
}

/// What a worker keeps from strip to strip: its dataset handles and read buffers.
#[derive(Default)]
struct Worker {
    handles: Handles,
    buffers: Vec<Samples>,
}

fn fine_bin(v: f64, lo: f64, hi: f64) -> usize {
    if hi <= lo {
        return 0;
    }
    (((v - lo) / (hi - lo) * FLOAT_BINS as f64) as usize).min(FLOAT_BINS - 1)
}

/// Rows per strip: whole blocks (at least [`TILE_ROWS`] rows), so that each block is decoded
/// once and a strip of every band stays in GDAL's cache, within the memory budget.
fn strip_height(g: &Group, opts: &StatsOptions, per_col: usize) -> Result<usize> {
    let budget = opts.ram_bytes / opts.threads.max(1) as u64;
    let fit = raster::strip_rows(budget, g.width, per_col);
    let block = match g.layers.first() {
        Some(l) => raster::block_size(&raster::open(&l.path)?, l.band).1,
        None => 1,
    };
    let natural = TILE_ROWS.div_ceil(block) * block;
    Ok(if fit >= natural { natural } else { fit })
}

fn run_pass(g: &Group, plan: &Plan, opts: &StatsOptions, bounds: Option<&Bounds>) -> Result<Tally> {
    let ints: usize = plan.sources.iter().map(|s| s.sample.size()).sum();
    let floats = plan.layer_source.iter().filter(|s| s.is_none()).count();
    // Native samples of the integer bands, one f64 band at a time, the class bytes.
    let per_col = ints + 8 * floats.min(1) + 1;
    let step = strip_height(g, opts, per_col)?;
    let strips: Vec<Window> = Strips::new(g.height, step).collect();
    // One tally per worker, strips handed out in order: integer counts do not depend on who
    // counted what, float moments are kept per row.
    let workers = opts.threads.clamp(1, strips.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let tallies = (0..workers)
        .into_par_iter()
        .map(|_| {
            let mut t = Tally::new(plan, g.layers.len());
            let mut w = Worker::default();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&win) = strips.get(i) else {
                    return Ok(t);
                };
                strip_pass(g, plan, win, bounds, &mut t, &mut w)?;
            }
        })
        .collect::<Result<Vec<Tally>>>()?;
    Ok(tallies
        .into_iter()
        .reduce(Tally::merge)
        .unwrap_or_else(|| Tally::new(plan, g.layers.len())))
}

/// The per-layer figures of pass 1: integer histograms split by class with nodata taken out,
/// and the mask counts derived from the masks' histograms.
fn finish(g: &Group, plan: &Plan, t: Tally) -> Vec<LayerAcc> {
    // Pixels with each bit set in a mask, over all pixels.
    let bit_counts = |src: Option<usize>| -> [u64; 16] {
        let mut bits = [0u64; 16];
        if let Some(i) = src {
            let s = &plan.sources[i];
            for (k, &c) in t.hists[i].iter().enumerate() {
                let v = (k % s.span) as i32 + s.off;
                if c > 0 && v != 0 {
                    for (b, n) in bits.iter_mut().enumerate() {
                        if v >> b & 1 == 1 {
                            *n += c;
                        }
                    }
                }
            }
        }
        bits
    };
    let (sat, pix) = (bit_counts(plan.sat), bit_counts(plan.pix));
    let mut out = t.floats;
    for (li, l) in g.layers.iter().enumerate() {
        let acc = &mut out[li];
        if let Some(i) = plan.layer_source[li] {
            let s = &plan.sources[i];
            let mut hist: [Vec<u64>; 3] =
                [0, 1, 2].map(|c| t.hists[i][c * s.span..(c + 1) * s.span].to_vec());
            if let Some(nd) = int_nodata(l) {
                for hc in &mut hist {
                    acc.nodata += std::mem::take(&mut hc[(nd - s.off) as usize]);
                }
            }
            if l.role == Role::Mask {
                let all = sum_hists(&hist);
                for (k, &c) in all.iter().enumerate() {
                    let v = k as i32 + s.off;
                    if c > 0 && v > 0 {
                        for (b, n) in acc.bits.iter_mut().enumerate() {
                            *n += c * (v >> b & 1) as u64;
                        }
                    }
                }
            }
            acc.cloudy = hist[1].iter().sum();
            acc.hist = hist;
        } else {
            acc.cloudy = acc.rows.values().map(|r| r[1].n).sum();
        }
        if let Some(b) = l.spectral.filter(|_| l.role != Role::Mask) {
            acc.saturated = sat[b];
            acc.defective = pix[b];
        }
    }
    out
}

fn group_stats(g: &Group, opts: &StatsOptions) -> Result<Vec<BandStats>> {
    let plan = Plan::new(g);
    let first = finish(g, &plan, run_pass(g, &plan, opts, None)?);
    let totals: Vec<[Moments; 3]> = first
        .iter()
        .map(|a| {
            a.rows.values().fold([Moments::default(); 3], |t, r| {
                [t[0].merge(r[0]), t[1].merge(r[1]), t[2].merge(r[2])]
            })
        })
        .collect();
    let needs_second = g.layers.iter().any(|l| int_span(l.sample).is_none());
    let second = if needs_second {
        let bounds: Bounds = totals
            .iter()
            .map(|t| {
                let all = t[0].merge(t[1]).merge(t[2]);
                (all.n > 0).then_some((all.min, all.max))
            })
            .collect();
        Some(run_pass(g, &plan, opts, Some(&bounds))?.floats)
    } else {
        None
    };
    let count = (g.width * g.height) as u64;
    let mut out = Vec::new();
    for (i, l) in g.layers.iter().enumerate() {
        let acc = &first[i];
        let (summary, classes, histogram) = match int_span(l.sample) {
            Some((off, _)) => {
                let all = sum_hists(&acc.hist);
                let summary = int_summary(&all, off);
                // GDAL gives no histogram of a constant band (but a byte band's is fixed).
                let spread = summary
                    .min
                    .zip(summary.max)
                    .filter(|(lo, hi)| hi > lo || l.sample == SampleType::U8);
                let histogram = spread.map(|(lo, hi)| {
                    let (a, b) = GdalHistogram::default_bounds(l.sample, lo, hi);
                    let mut h = GdalHistogram::new(a, b);
                    for (k, &n) in all.iter().enumerate() {
                        if n > 0 {
                            let bk = h.bucket(f64::from(k as i32 + off));
                            h.buckets[bk] += n;
                        }
                    }
                    h
                });
                let classes = (0..3)
                    .map(|c| (c, int_summary(&acc.hist[c], off)))
                    .collect::<Vec<_>>();
                (summary, classes, histogram)
            }
            None => {
                let t = &totals[i];
                let second = second
                    .as_ref()
                    .map(|s| &s[i])
                    .ok_or_else(|| VipError::Internal("float band without second pass".into()))?;
                let all_m = t[0].merge(t[1]).merge(t[2]);
                let all_fine = sum_hists(&second.fine);
                let (lo, hi) = (all_m.min, all_m.max);
                let summary = float_summary(&all_m, &all_fine, lo, hi);
                let histogram = second.gdal.as_ref().filter(|_| hi > lo).map(|b| {
                    let (a, bb) = GdalHistogram::default_bounds(l.sample, lo, hi);
                    GdalHistogram {
                        min: a,
                        max: bb,
                        buckets: b.clone(),
                    }
                });
                let classes = (0..3)
                    .map(|c| (c, float_summary(&t[c], &second.fine[c], lo, hi)))
                    .collect();
                (summary, classes, histogram)
            }
        };
        let valid = summary.valid;
        let l1c_band = g.sat.is_some() && l.role != Role::Mask && l.spectral.is_some();
        let frac = |n: u64, of: u64| if of == 0 { 0.0 } else { n as f64 / of as f64 };
        let classes = if g.cld.is_some() && l.role != Role::Mask {
            classes
                .into_iter()
                .filter(|(c, s)| *c < 2 || s.valid > 0)
                .map(|(c, s)| (CLASSES[c].to_string(), s))
                .collect()
        } else {
            BTreeMap::new()
        };
        out.push(BandStats {
            name: l.name.clone(),
            file: l.path.display().to_string(),
            band: l.band,
            role: l.role,
            width: g.width,
            height: g.height,
            nodata: l.nodata,
            scale: l.scale,
            offset: l.offset,
            count,
            valid_fraction: frac(valid, count),
            nodata_fraction: frac(acc.nodata, count),
            saturated_fraction: l1c_band.then(|| frac(acc.saturated, count)),
            defective_fraction: (l1c_band && g.pix.is_some()).then(|| frac(acc.defective, count)),
            cloudy_fraction: (g.cld.is_some() && l.role != Role::Mask)
                .then(|| frac(acc.cloudy, valid)),
            summary,
            histogram,
            classes,
            bits: acc
                .bits
                .iter()
                .enumerate()
                .filter(|(_, &n)| n > 0)
                .map(|(k, &n)| (k as u32, n))
                .collect(),
        });
    }
    Ok(out)
}

fn sum_hists(h: &[Vec<u64>; 3]) -> Vec<u64> {
    let mut all = Vec::new();
    for c in h {
        add_into(&mut all, c);
    }
    all
}

fn percentile_key(p: f64) -> String {
    format!("p{p}")
}

/// Rank (1-based) of percentile `p` among `n` sorted values (numpy's `inverted_cdf`).
fn rank(p: f64, n: u64) -> u64 {
    ((p / 100.0 * n as f64).ceil() as u64).clamp(1, n)
}

/// Summary of an integer value histogram (`hist[k]` counts value `k + off`), exact.
fn int_summary(hist: &[u64], off: i32) -> Summary {
    let mut n: u64 = 0;
    let mut sum: i128 = 0;
    let mut sum2: i128 = 0;
    let (mut lo, mut hi) = (None, None);
    for (k, &c) in hist.iter().enumerate() {
        if c == 0 {
            continue;
        }
        let v = k as i128 + off as i128;
        n += c;
        sum += v * c as i128;
        sum2 += v * v * c as i128;
        lo.get_or_insert(v);
        hi = Some(v);
    }
    if n == 0 {
        return Summary::empty();
    }
    let nf = n as f64;
    // n·Σv² − (Σv)² is exact in i128; one rounding per division.
    let var_num = n as i128 * sum2 - sum * sum;
    let mut percentiles = BTreeMap::new();
    let mut cum = 0u64;
    let mut pi = 0;
    let ranks: Vec<u64> = PERCENTILES.iter().map(|&p| rank(p, n)).collect();
    for (k, &c) in hist.iter().enumerate() {
        cum += c;
        while pi < ranks.len() && cum >= ranks[pi] {
            percentiles.insert(percentile_key(PERCENTILES[pi]), f64::from(k as i32 + off));
            pi += 1;
        }
    }
    Summary {
        valid: n,
        min: lo.map(|v| v as f64),
        max: hi.map(|v| v as f64),
        mean: Some(sum as f64 / nf),
        std: Some((var_num as f64 / (nf * nf)).sqrt()),
        percentiles,
    }
}

/// Summary of float moments, with percentiles from bins between `lo` and `hi` (bin centres).
fn float_summary(m: &Moments, bins: &[u64], lo: f64, hi: f64) -> Summary {
    if m.n == 0 {
        return Summary::empty();
    }
    let width = (hi - lo) / FLOAT_BINS as f64;
    let mut percentiles = BTreeMap::new();
    let ranks: Vec<u64> = PERCENTILES.iter().map(|&p| rank(p, m.n)).collect();
    let (mut cum, mut pi) = (0u64, 0);
    for (k, &c) in bins.iter().enumerate() {
        cum += c;
        while pi < ranks.len() && cum >= ranks[pi] {
            let v = (lo + (k as f64 + 0.5) * width).clamp(m.min, m.max);
            percentiles.insert(percentile_key(PERCENTILES[pi]), v);
            pi += 1;
        }
    }
    Summary {
        valid: m.n,
        min: Some(m.min),
        max: Some(m.max),
        mean: Some(m.mean),
        std: Some((m.m2 / m.n as f64).sqrt()),
        percentiles,
    }
}

impl Summary {
    fn empty() -> Summary {
        Summary {
            valid: 0,
            min: None,
            max: None,
            mean: None,
            std: None,
            percentiles: BTreeMap::new(),
        }
    }
}

/// A plain-text table of the statistics, one line per band.
pub fn text_table(s: &ProductStats) -> String {
    let mut out = format!("{} ({:?})\n", s.product, s.kind);
    out += &format!(
        "{:<8} {:>7} {:>7} {:>7} {:>10} {:>10} {:>12} {:>12} {:>10} {:>10} {:>10}\n",
        "band", "valid%", "sat%", "cloud%", "min", "max", "mean", "std", "p2", "p50", "p98"
    );
    let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v}"));
    let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.2}", 100.0 * v));
    for b in &s.bands {
        let p = |k: &str| f(b.summary.percentiles.get(k).copied());
        out += &format!(
            "{:<8} {:>7} {:>7} {:>7} {:>10} {:>10} {:>12} {:>12} {:>10} {:>10} {:>10}\n",
            b.name,
            pct(Some(b.valid_fraction)),
            pct(b.saturated_fraction),
            pct(b.cloudy_fraction),
            f(b.summary.min),
            f(b.summary.max),
            b.summary.mean.map_or("-".into(), |v| format!("{v:.4}")),
            b.summary.std.map_or("-".into(), |v| format!("{v:.4}")),
            p("p2"),
            p("p50"),
            p("p98"),
        );
    }
    if let Some(m) = &s.masks {
        out += &super::masks::text(m);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::{create_geotiff, finish, write_window, RasterSpec};

    fn opts() -> StatsOptions {
        StatsOptions {
            ram_bytes: 1 << 20,
            threads: 2,
        }
    }

    fn write<T: gdal::raster::GdalType + Copy>(
        path: &std::path::Path,
        spec: &RasterSpec,
        data: &[Vec<T>],
    ) {
        let mut ds = create_geotiff(path, spec, &[]).unwrap();
        for (b, d) in data.iter().enumerate() {
            write_window(&mut ds, b + 1, (0, 0), (spec.width, spec.height), d).unwrap();
        }
        finish(ds, path).unwrap();
    }

    #[test]
    fn integer_statistics_are_exact() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.tif");
        let (w, h) = (300, 1100);
        let mut spec = RasterSpec::new(w, h, 1, SampleType::I16);
        spec.nodata = Some(-10000.0);
        let data: Vec<i16> = (0..w * h)
            .map(|i| {
                if i % 17 == 0 {
                    -10000
                } else {
                    ((i * 7919) % 2000) as i16 - 300
                }
            })
            .collect();
        write(&p, &spec, std::slice::from_ref(&data));
        let input = Input::open(&p).unwrap();
        // A tiny budget forces many strips.
        let s = stats(&input, &opts()).unwrap();
        let b = &s.bands[0];
        let mut v: Vec<f64> = data
            .iter()
            .filter(|&&x| x != -10000)
            .map(|&x| f64::from(x))
            .collect();
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt();
        v.sort_by(f64::total_cmp);
        assert_eq!(b.summary.valid, v.len() as u64);
        assert_eq!(b.summary.min, Some(v[0]));
        assert_eq!(b.summary.max, Some(*v.last().unwrap()));
        assert!((b.summary.mean.unwrap() - mean).abs() < 1e-9);
        assert!((b.summary.std.unwrap() - std).abs() < 1e-9);
        let p50 = v[(0.5 * n).ceil() as usize - 1];
        assert_eq!(b.summary.percentiles["p50"], p50);
        assert_eq!(
            b.histogram.as_ref().unwrap().buckets.iter().sum::<u64>(),
            v.len() as u64
        );
        assert!((b.nodata_fraction - (1.0 - n / (w * h) as f64)).abs() < 1e-12);
    }

    #[test]
    fn float_statistics_do_not_depend_on_strips_or_threads() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.tif");
        let (w, h) = (200, 700);
        let mut spec = RasterSpec::new(w, h, 1, SampleType::F32);
        spec.nodata = Some(-1.0);
        let data: Vec<f32> = (0..w * h)
            .map(|i| {
                if i % 13 == 0 {
                    f32::NAN
                } else {
                    ((i as f32) * 0.37).sin() * 3.0 + 10.0
                }
            })
            .collect();
        write(&p, &spec, std::slice::from_ref(&data));
        let input = Input::open(&p).unwrap();
        let a = stats(&input, &opts()).unwrap();
        let b = stats(
            &input,
            &StatsOptions {
                ram_bytes: 1 << 30,
                threads: 1,
            },
        )
        .unwrap();
        assert_eq!(a.bands[0].summary, b.bands[0].summary);
        let v: Vec<f64> = data
            .iter()
            .filter(|x| !x.is_nan())
            .map(|&x| f64::from(x))
            .collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        assert!((a.bands[0].summary.mean.unwrap() - mean).abs() < 1e-9);
        let p50 = a.bands[0].summary.percentiles["p50"];
        let below = v.iter().filter(|&&x| x <= p50).count() as f64 / v.len() as f64;
        assert!((below - 0.5).abs() < 1e-3, "{below}");
    }

    #[test]
    fn moments_merge_like_one_pass() {
        let v: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.1).cos() * 5.0).collect();
        let whole = Moments::of(&v);
        let parts = v
            .chunks(77)
            .fold(Moments::default(), |m, c| m.merge(Moments::of(c)));
        assert_eq!(whole.n, parts.n);
        assert!((whole.mean - parts.mean).abs() < 1e-12);
        assert!((whole.m2 - parts.m2).abs() < 1e-9);
    }
}
