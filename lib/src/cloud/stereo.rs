//! Cloud altitude from the parallax between the two 620 nm bands (B05, B06), as the VENµS L1
//! chain measured it (CLOUDD GIPP).
//!
//! **Why it works.** Each band of the L1C is orthorectified over the DEM along its own line of
//! sight, so the ground is co-registered across bands while a cloud at height H above the DEM
//! is not: a cloud whose footprint (vertical projection) is P shows in band b at P − H·d_b,
//! d_b = (DX, DY) the band's viewing direction as map displacement per metre of altitude (the
//! L1C VIE grid). Between the stereo reference band (B05, detector 1) and the secondary band
//! (B06, detector 4) a cloud is shifted by H·(d_ref − d_sec), along the *epipolar* direction
//! e = d_ref − d_sec; the ground (H = 0) is not. So H = disparity / |e|, and bright soil or snow,
//! which have no disparity, are not clouds.
//!
//! **Steps** (CLOUDD element names in brackets; VIP's defaults in [`vip_default`]):
//! 1. *Correlation grid.* Every `Grid_Line_Sampling_Step` × `Grid_Column_Sampling_Step` pixels
//!    (the cells of the CLA annex) whose mean reflectance in the reflectance band
//!    (`Reflectance_Reference_Band_Code`) reaches `Minimum_Reflectance_Threshold`, a window of
//!    `Reference_Window_Nb_Of_Lines` × `…_Columns` pixels of the reference band is correlated
//!    (zero-mean normalised cross-correlation) with the secondary band shifted by s pixels
//!    along e, s = H·|e| for H from −`Cloud_MNT_Margin` to `Cloud_Detection_Maximum_Altitude`
//!    in 1-pixel steps, the shift limited to `Exploration_Line_Number` lines and
//!    `Exploration_Column_Number` columns; the secondary band is interpolated at the shifted
//!    positions with a spline of `Spline_Order` 0 (nearest), 1 (bilinear) or 3 (cubic); e is
//!    taken at the middle of each run of 32 cells of a grid row over a block of 8 grid rows,
//!    whose windows then share every shift's interpolated rows (VIP: e turns by 4·10⁻⁵ degree
//!    over a run). The best
//!    integer shift must correlate at `Initial_Resemblance_Threshold` or better and not be on
//!    the border of the search; a parabola through it and its neighbours gives the sub-pixel
//!    disparity, whose peak must reach `Final_Resemblance_Threshold`. When another local
//!    maximum comes within `Periodic_Landscape_Detection_Threshold` of the best one, the
//!    landscape is periodic and the point is rejected. Windows without contrast are rejected.
//! 2. *Filtering.* With `Correlation_Filtering`, a disparity more than one pixel away from the
//!    median of its valid 3 × 3 neighbours is rejected. A point is *cloud* when its disparity
//!    reaches `Disparity_Threshold` pixels and its height above the DEM lies between
//!    `Cloud_MNT_Margin` and `Cloud_Detection_Maximum_Altitude`, *ground* otherwise. With
//!    `K_Filter` k ≥ 0, cloud heights more than k standard deviations from their mean are
//!    rejected.
//! 3. *Propagation.* Cells whose mean reflectance reaches `Minimum_Reflectance_Threshold` are
//!    bright. Every bright cell takes the vote (cloud with its height, or ground) of the
//!    nearest valid point reached through bright cells (8-connected, breadth first from all
//!    points at once): cloud interiors too uniform to correlate take the heights measured on
//!    their textured edges, and a cloud over bright soil or snow stops halfway to the ground
//!    points around it. A bright region that no valid point reaches is cloud when its mean
//!    reflectance reaches min(`Maximum_Reflectance_Threshold`,
//!    `Reflectance_Threshold_Adjustment_Factor` × the median reflectance of the cloud points)
//!    (the reflectance test of the VENµS chain), at the median height of the scene's cloud
//!    points (`Cloud_MNT_Margin` when there are none).
//! 4. *Mask filtering.* The cloud cells are eroded then dilated by boxes of
//!    `Eroding_Filter_Size` and `Dilating_Filter_Size` cells (a size of 0 or 1 does nothing);
//!    a cell the dilation adds takes the highest height of the cloud cells around it.
//! 5. *CLA.* Each cloud cell is moved from where the reference band sees it to its footprint,
//!    P = x_ref + H·d_ref; the altitude above the datum (H plus the DEM height) is kept, the
//!    highest cloud winning; footprint cells left empty between moved cells (at least 5 of
//!    their 8 neighbours filled; two passes) take the highest of their neighbours.
//! 6. *L1 cloud mask,* covering the cloud in every band (`Final_L1_Dilatation`): `AUTOMATIC`
//!    marks, for every footprint cell, where each of the four tri-detectors sees it,
//!    P − H·d_k, and the cells between (the cloud's parallax sweep across the focal plane),
//!    with H capped at the height below which all but `Maximum_Disparity_Eliminated_Percent` %
//!    of the cloud heights lie; `FIXED` dilates the cells as the reference band sees them by
//!    `Final_Dilating_Filter_Size` pixels (rounded up to cells). The cell mask is interpolated
//!    bilinearly to the pixels and set where it reaches `Binarization_Threshold`.
//!
//! Memory: the correlation holds the reference, secondary and reflectance bands over the
//! rows of one strip plus the largest vertical disparity and half a window on each side; the
//! per-cell results (a sixteenth of the pixels with the default 4 × 4 grid) are held whole.
//! Every cell is computed the same way whatever the thread count.

use std::ops::Range;
use std::path::Path;

use rayon::prelude::*;

use crate::ee::cloudd::{self, Cloudd, DilationChoice, FilterSize};
use crate::error::{Result, VipError};
use crate::geometry::resample;
use crate::mission::venus;

/// Reflectance of one L1C count.
const COUNT: f32 = 0.001;
/// L1C nodata code.
const NODATA: i16 = -10000;
/// Lowest standard deviation of a correlation window (reflectance) for it to be matched.
pub const MIN_WINDOW_STD: f64 = 0.002;
/// Variance (reflectance²) below which a secondary window counts as flat.
const FLAT_VARIANCE: f64 = 1e-12;
/// Spacing of the nodes where the viewing geometry is evaluated, in correlation-grid cells.
const GEOMETRY_NODE_CELLS: usize = 16;
/// Upper bounds of the cloud altitude histogram of the L1 header (2 km bins, 0 to 14 km and
/// above).
pub const HISTOGRAM_BINS: usize = 8;

/// Interpolation of the secondary band at sub-pixel shifts (`Spline_Order`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spline {
    Nearest,
    Linear,
    Cubic,
}

/// The CLOUDD parameters, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct StereoParams {
    /// Correlation grid step (lines, columns), pixels.
    pub step: (usize, usize),
    /// Half window (lines, columns): the window is 2·half + 1 pixels.
    pub half_window: (usize, usize),
    pub initial_threshold: f64,
    pub final_threshold: f64,
    /// Largest shift explored (lines, columns).
    pub exploration: (usize, usize),
    pub spline: Spline,
    pub filtering: bool,
    /// 0-based band indices.
    pub reference: usize,
    pub secondary: usize,
    pub reflectance: usize,
    /// Pixels.
    pub disparity_threshold: f64,
    pub min_reflectance: f64,
    pub max_reflectance: f64,
    pub adjustment_factor: f64,
    /// Metres above the DEM.
    pub max_altitude: f64,
    pub k_filter: i64,
    /// Metres.
    pub dem_margin: f64,
    pub periodic_threshold: f64,
    /// Cells (lines, columns).
    pub eroding: (usize, usize),
    pub dilating: (usize, usize),
    pub final_dilation: DilationChoice,
    /// Pixels (lines, columns).
    pub final_dilating: (usize, usize),
    pub max_disparity_eliminated_percent: f64,
    pub binarization_threshold: f64,
}

/// VIP's CLOUDD values (written by vip-sim into every GIPP set):
/// - a 4 × 4 pixel correlation grid (20 m, the ICD's CLA sampling), 11 × 11 pixel windows,
///   resemblance thresholds 0.6 (integer peak) and 0.7 (refined peak), exploration ±48 lines
///   and columns, bilinear interpolation, median filtering on;
/// - B05 against B06, reflectance tests on B02 (443 nm); 1.5 pixels of disparity (about
///   300 m with VENµS's B05/B06 base) for a cloud; bright cells from 0.12, reflectance test
///   at min(0.5, 0.8 × the median of the stereo clouds); heights up to 8000 m; K_Filter 3;
///   ground below 250 m; periodic landscape when two peaks are within 0.02;
/// - no erosion, a 3 × 3 cell dilation; final dilation AUTOMATIC (the parallax sweep of each
///   cloud across the four detectors) discarding the highest 2 % of heights (FIXED: 5 × 5
///   pixels); rebinarisation at 0.5.
pub fn vip_default() -> Cloudd {
    Cloudd {
        grid_line_step: 4,
        grid_col_step: 4,
        window_lines: 11,
        window_cols: 11,
        initial_threshold: 0.6,
        final_threshold: 0.7,
        exploration_lines: 48,
        exploration_cols: 48,
        spline_order: 1,
        correlation_filtering: true,
        reference_band: "B05".into(),
        secondary_band: "B06".into(),
        reflectance_band: "B02".into(),
        disparity_threshold: 1.5,
        min_reflectance: 0.12,
        max_reflectance: 0.5,
        adjustment_factor: 0.8,
        max_altitude: 8000.0,
        k_filter: 3,
        dem_margin: 250.0,
        periodic_threshold: 0.02,
        eroding: FilterSize { rows: 1, cols: 1 },
        dilating: FilterSize { rows: 3, cols: 3 },
        final_dilation: DilationChoice::Automatic,
        final_dilating: FilterSize { rows: 5, cols: 5 },
        max_disparity_eliminated_percent: 2.0,
        binarization_threshold: 0.5,
    }
}

impl StereoParams {
    /// Reads and checks a GIP_CLOUDD file.
    pub fn read(path: &Path) -> Result<Self> {
        Self::from_gipp(&cloudd::read_cloudd(path)?, path)
    }

    /// Checks the values of a CLOUDD read from `path`: anything out of range is a bad input
    /// naming the file and the element.
    pub fn from_gipp(c: &Cloudd, path: &Path) -> Result<Self> {
        let bad = |element: &str, why: String| {
            Err(VipError::bad_input(path, format!("CLOUDD {element} {why}")))
        };
        let band = |element: &str, code: &str| -> Result<usize> {
            venus::BANDS
                .iter()
                .position(|b| b.code == code)
                .ok_or_else(|| {
                    VipError::bad_input(
                        path,
                        format!("CLOUDD {element} '{code}' is not a VENµS band"),
                    )
                })
        };
        let within = |element: &str, v: f64, lo: f64, hi: f64| -> Result<f64> {
            if v.is_finite() && (lo..=hi).contains(&v) {
                Ok(v)
            } else {
                Err(VipError::bad_input(
                    path,
                    format!("CLOUDD {element} {v} is outside {lo}..{hi}"),
                ))
            }
        };
        let count = |element: &str, v: i64, lo: i64, hi: i64| -> Result<usize> {
            if (lo..=hi).contains(&v) {
                Ok(v as usize)
            } else {
                Err(VipError::bad_input(
                    path,
                    format!("CLOUDD {element} {v} is outside {lo}..{hi}"),
                ))
            }
        };
        let step = (
            count("Grid_Line_Sampling_Step", c.grid_line_step.into(), 1, 64)?,
            count("Grid_Column_Sampling_Step", c.grid_col_step.into(), 1, 64)?,
        );
        let mut half = [0usize; 2];
        for (h, (name, v)) in half.iter_mut().zip([
            ("Reference_Window_Nb_Of_Lines", c.window_lines),
            ("Reference_Window_Nb_Of_Columns", c.window_cols),
        ]) {
            let n = count(name, v, 3, 101)?;
            if n % 2 == 0 {
                return bad(name, format!("{n} is even (a window has a centre pixel)"));
            }
            *h = n / 2;
        }
        let spline = match c.spline_order {
            0 => Spline::Nearest,
            1 => Spline::Linear,
            3 => Spline::Cubic,
            o => return bad("Spline_Order", format!("{o} is not 0, 1 or 3")),
        };
        let reference = band("Stereo_Reference_Band_Code", &c.reference_band)?;
        let secondary = band("Stereo_Secondary_Band_Code", &c.secondary_band)?;
        if venus::BANDS[reference].detector == venus::BANDS[secondary].detector {
            return bad(
                "Stereo_Secondary_Band_Code",
                format!(
                    "{} is on the detector of {}: no parallax between them",
                    c.secondary_band, c.reference_band
                ),
            );
        }
        let filter = |name: &str, f: FilterSize| -> Result<(usize, usize)> {
            Ok((
                count(&format!("{name}/Row_Size"), f.rows.into(), 0, 101)?,
                count(&format!("{name}/Col_Size"), f.cols.into(), 0, 101)?,
            ))
        };
        let min_reflectance = within("Minimum_Reflectance_Threshold", c.min_reflectance, 0.0, 2.0)?;
        let max_reflectance = within("Maximum_Reflectance_Threshold", c.max_reflectance, 0.0, 2.0)?;
        if max_reflectance < min_reflectance {
            return bad(
                "Maximum_Reflectance_Threshold",
                format!(
                    "{max_reflectance} is below Minimum_Reflectance_Threshold {min_reflectance}"
                ),
            );
        }
        Ok(StereoParams {
            step,
            half_window: (half[0], half[1]),
            initial_threshold: within(
                "Initial_Resemblance_Threshold",
                c.initial_threshold,
                0.0,
                1.0,
            )?,
            final_threshold: within("Final_Resemblance_Threshold", c.final_threshold, 0.0, 1.0)?,
            exploration: (
                count(
                    "Exploration_Line_Number",
                    c.exploration_lines.into(),
                    1,
                    500,
                )?,
                count(
                    "Exploration_Column_Number",
                    c.exploration_cols.into(),
                    1,
                    500,
                )?,
            ),
            spline,
            filtering: c.correlation_filtering,
            reference,
            secondary,
            reflectance: band("Reflectance_Reference_Band_Code", &c.reflectance_band)?,
            disparity_threshold: within("Disparity_Threshold", c.disparity_threshold, 0.1, 100.0)?,
            min_reflectance,
            max_reflectance,
            adjustment_factor: within(
                "Reflectance_Threshold_Adjustment_Factor",
                c.adjustment_factor,
                0.0,
                10.0,
            )?,
            max_altitude: within(
                "Cloud_Detection_Maximum_Altitude",
                c.max_altitude,
                100.0,
                20000.0,
            )?,
            k_filter: c.k_filter,
            dem_margin: within("Cloud_MNT_Margin", c.dem_margin, 0.0, 5000.0)?,
            periodic_threshold: within(
                "Periodic_Landscape_Detection_Threshold",
                c.periodic_threshold,
                0.0,
                1.0,
            )?,
            eroding: filter("Eroding_Filter_Size", c.eroding)?,
            dilating: filter("Dilating_Filter_Size", c.dilating)?,
            final_dilation: c.final_dilation,
            final_dilating: filter("Final_Dilating_Filter_Size", c.final_dilating)?,
            max_disparity_eliminated_percent: within(
                "Maximum_Disparity_Eliminated_Percent",
                c.max_disparity_eliminated_percent,
                0.0,
                50.0,
            )?,
            binarization_threshold: within(
                "Binarization_Threshold",
                c.binarization_threshold,
                0.01,
                1.0,
            )?,
        })
    }

    /// Number of correlation-grid cells (lines, columns) over `lines` × `cols` pixels.
    pub fn grid_shape(&self, lines: usize, cols: usize) -> (usize, usize) {
        (lines.div_ceil(self.step.0), cols.div_ceil(self.step.1))
    }
}

/// The viewing geometry at a point of the L1C: the directions towards the satellite of the
/// stereo reference and secondary bands and of the four tri-detectors, in pixels of the L1C
/// (columns, lines) per metre of altitude.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Views {
    pub reference: (f64, f64),
    pub secondary: (f64, f64),
    pub detectors: [(f64, f64); 4],
}

impl Views {
    fn lerp(a: &Views, b: &Views, t: f64) -> Views {
        let l = |p: (f64, f64), q: (f64, f64)| (p.0 + (q.0 - p.0) * t, p.1 + (q.1 - p.1) * t);
        Views {
            reference: l(a.reference, b.reference),
            secondary: l(a.secondary, b.secondary),
            detectors: std::array::from_fn(|k| l(a.detectors[k], b.detectors[k])),
        }
    }

    /// e = d_ref − d_sec, pixels (columns, lines) of disparity per metre of height.
    pub fn epipolar(&self) -> (f64, f64) {
        (
            self.reference.0 - self.secondary.0,
            self.reference.1 - self.secondary.1,
        )
    }
}

/// Views on coarse nodes, interpolated bilinearly (they vary over kilometres).
struct ViewGrid {
    rows: usize,
    cols: usize,
    /// Node spacing, pixels.
    spacing: f64,
    nodes: Vec<Views>,
}

impl ViewGrid {
    fn new(
        lines: usize,
        cols: usize,
        spacing: f64,
        f: &(dyn Fn(f64, f64) -> Views + Sync),
    ) -> Self {
        let rows = ((lines as f64 / spacing).ceil() as usize) + 1;
        let ncols = ((cols as f64 / spacing).ceil() as usize) + 1;
        let nodes = (0..rows * ncols)
            .into_par_iter()
            .map(|k| f((k / ncols) as f64 * spacing, (k % ncols) as f64 * spacing))
            .collect();
        ViewGrid {
            rows,
            cols: ncols,
            spacing,
            nodes,
        }
    }

    fn at(&self, row: f64, col: f64) -> Views {
        let y = (row / self.spacing).clamp(0.0, (self.rows - 1) as f64);
        let x = (col / self.spacing).clamp(0.0, (self.cols - 1) as f64);
        let (i, j) = (
            (y.floor() as usize).min(self.rows.saturating_sub(2)),
            (x.floor() as usize).min(self.cols.saturating_sub(2)),
        );
        let (i1, j1) = ((i + 1).min(self.rows - 1), (j + 1).min(self.cols - 1));
        let (ty, tx) = (y - i as f64, x - j as f64);
        let n = |a: usize, b: usize| &self.nodes[a * self.cols + b];
        let top = Views::lerp(n(i, j), n(i, j1), tx);
        let bottom = Views::lerp(n(i1, j), n(i1, j1), tx);
        Views::lerp(&top, &bottom, ty)
    }
}

/// What the correlation found at one grid cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// Disparity along the epipolar direction, pixels; NaN when not measured or rejected.
    pub disparity: f32,
    /// Correlation at the peak (NaN when not correlated).
    pub score: f32,
    /// Mean reflectance of the reflectance band over the cell's pixels (NaN: no valid pixel).
    pub reflectance: f32,
}

/// Cells correlated together, a *run* of [`RUN_CELLS`] cells of a grid row over a *block* of
/// [`BLOCK_ROWS`] grid rows: they share the epipolar direction, taken at the middle of the
/// run and block, and with it every shift's interpolated secondary rows, which each cell's
/// window then reads in part (with the default 4 × 4 grid and 11 × 11 windows, a block
/// interpolates 39 rows a shift where its grid rows on their own interpolated 88). Over 32
/// cells (128 pixels with the default grid) the direction of a VENµS L1C turns by about
/// 4·10⁻⁵ degree, which moves the largest shift (45 pixels) by less than 3·10⁻⁵ pixel; a
/// block's 32 rows are a quarter of that.
const RUN_CELLS: usize = 32;
/// Grid rows correlated together (see [`RUN_CELLS`]).
const BLOCK_ROWS: usize = 8;

/// A cell whose reference window has the contrast to be matched.
struct Ready {
    /// Its grid row.
    grid_row: usize,
    /// First column of its window.
    first_col: isize,
    /// The reference window, centred, row by row; its sum and sum of squares.
    a: Vec<f64>,
    sa: f64,
    saa: f64,
    /// Correlation at each shift explored (-1: no score).
    scores: Vec<f64>,
}

/// The secondary band interpolated at one shift over the rows of a correlation window and the
/// columns of a run's windows, and its column sums.
#[derive(Default)]
struct Shifted {
    /// Rows of `width` values.
    values: Vec<f64>,
    width: usize,
    /// Σb and Σb² over each column.
    sum: Vec<f64>,
    squares: Vec<f64>,
}

impl Shifted {
    /// Interpolates `height` rows × `width` columns with the separable weights `wr` (rows) and
    /// `wc` (columns), output sample (y, x) reading the `N` × `N` samples from (y, x) of
    /// `secondary` (rows of `cols` samples, from `first_col`).
    fn fill<const N: usize>(
        &mut self,
        secondary: &[f64],
        (cols, first_col): (usize, usize),
        (height, width): (usize, usize),
        wr: [f64; N],
        wc: [f64; N],
    ) {
        let w: [[f64; N]; N] = std::array::from_fn(|i| std::array::from_fn(|j| wr[i] * wc[j]));
        self.width = width;
        self.values.resize(height * width, 0.0);
        for (y, out) in self.values.chunks_exact_mut(width).enumerate() {
            let taps: [&[f64]; N] = std::array::from_fn(|i| {
                let start = (y + i) * cols + first_col;
                &secondary[start..start + width + N - 1]
            });
            for (x, out) in out.iter_mut().enumerate() {
                let mut v = 0.0;
                for (wi, row) in w.iter().zip(&taps) {
                    for (wij, s) in wi.iter().zip(&row[x..x + N]) {
                        v += wij * s;
                    }
                }
                *out = v;
            }
        }
    }

    /// Sums each column over rows `rows` (one grid row's windows).
    fn column_sums(&mut self, rows: Range<usize>) {
        let width = self.width;
        self.sum.clear();
        self.sum.resize(width, 0.0);
        self.squares.clear();
        self.squares.resize(width, 0.0);
        for row in self.values[rows.start * width..rows.end * width].chunks_exact(width) {
            for ((s, q), &b) in self.sum.iter_mut().zip(self.squares.iter_mut()).zip(row) {
                *s += b;
                *q += b * b;
            }
        }
    }

    /// Σb, Σb² and Σa·b over the window whose first row is `y0` and first column `x0`, `a`
    /// the reference window (rows of `acc.len()`; Σb and Σb² from the last
    /// [`Shifted::column_sums`], which must be over its rows); `acc` holds the partial Σa·b of
    /// each window column.
    fn sums(&self, (y0, x0): (usize, usize), a: &[f64], acc: &mut [f64]) -> (f64, f64, f64) {
        let w = acc.len();
        acc.fill(0.0);
        let b = &self.values[y0 * self.width..];
        for (arow, brow) in a.chunks_exact(w).zip(b.chunks_exact(self.width)) {
            for ((s, &av), &bv) in acc.iter_mut().zip(arow).zip(&brow[x0..x0 + w]) {
                *s += av * bv;
            }
        }
        let total = |v: &[f64]| v.iter().sum::<f64>();
        (
            total(&self.sum[x0..x0 + w]),
            total(&self.squares[x0..x0 + w]),
            total(acc),
        )
    }
}

/// Row buffers of the three bands the stereo reads.
struct Rows {
    /// First image row held.
    row0: usize,
    cols: usize,
    reference: Vec<f32>,
    /// Held in double precision: every correlation window interpolates it again, shift after
    /// shift, and converting its samples there cost more than twice the bytes do.
    secondary: Vec<f64>,
    reflectance: Vec<f32>,
}

impl Rows {
    fn held(&self) -> usize {
        self.reference.len() / self.cols
    }

    fn drop_before(&mut self, row: usize) {
        if row <= self.row0 {
            return;
        }
        let n = (row - self.row0).min(self.held()) * self.cols;
        for v in [&mut self.reference, &mut self.reflectance] {
            v.drain(..n);
        }
        self.secondary.drain(..n);
        self.row0 += n / self.cols;
    }
}

fn to_reflectance(v: i16) -> f32 {
    if v == NODATA {
        f32::NAN
    } else {
        f32::from(v) * COUNT
    }
}

/// The stereo correlation over an L1C being written, strip by strip.
pub struct Stereo {
    p: StereoParams,
    lines: usize,
    cols: usize,
    shape: (usize, usize),
    views: ViewGrid,
    /// Rows of margin above and below a grid row's window that the secondary band needs.
    margin: usize,
    rows: Rows,
    received: usize,
    next_grid_row: usize,
    cells: Vec<Cell>,
    /// Cells correlated so far (a window with contrast).
    correlated: usize,
}

impl Stereo {
    /// A correlation over `lines` × `cols` pixels; `views(line, col)` gives the viewing
    /// geometry at a pixel (evaluated on coarse nodes).
    pub fn new(
        p: StereoParams,
        lines: usize,
        cols: usize,
        views: &(dyn Fn(f64, f64) -> Views + Sync),
    ) -> Stereo {
        let spacing = (GEOMETRY_NODE_CELLS * p.step.0.max(p.step.1)) as f64;
        let views = ViewGrid::new(lines, cols, spacing, views);
        let largest_e = views
            .nodes
            .iter()
            .map(|v| {
                let e = v.epipolar();
                e.1.abs()
            })
            .fold(0.0f64, f64::max);
        let reach = (p.max_altitude.max(p.dem_margin) * largest_e).ceil() as usize + 2;
        let margin = reach.min(p.exploration.0 + 1) + 3;
        let shape = p.grid_shape(lines, cols);
        let cells = vec![
            Cell {
                disparity: f32::NAN,
                score: f32::NAN,
                reflectance: f32::NAN,
            };
            shape.0 * shape.1
        ];
        Stereo {
            rows: Rows {
                row0: 0,
                cols,
                reference: Vec::new(),
                secondary: Vec::new(),
                reflectance: Vec::new(),
            },
            p,
            lines,
            cols,
            shape,
            views,
            margin,
            received: 0,
            next_grid_row: 0,
            cells,
            correlated: 0,
        }
    }

    /// Bytes held whatever the strips (for memory budgets): for the whole scene, the grid's
    /// cells and viewing geometry; beyond a strip, the rows of the three bands a block of grid
    /// rows reads above and below it (reference and reflectance in f32, secondary in f64).
    pub fn held_bytes(&self) -> u64 {
        let margin_rows = 2 * (self.margin + self.p.half_window.0) + BLOCK_ROWS * self.p.step.0;
        (self.cells.len() * std::mem::size_of::<Cell>()
            + self.views.nodes.len() * std::mem::size_of::<Views>()
            + margin_rows * self.cols * (4 + 8 + 4)) as u64
    }

    /// The parameters.
    pub fn params(&self) -> &StereoParams {
        &self.p
    }

    /// Hands over the next rows of the L1C (reflectance counts of the reference, secondary and
    /// reflectance bands, rows `row0..`, full width) and correlates every grid row they
    /// complete.
    pub fn push(&mut self, row0: usize, reference: &[i16], secondary: &[i16], reflectance: &[i16]) {
        assert_eq!(row0, self.received, "stereo rows handed over in order");
        // the rows kept plus a strip, not twice that (a growing Vec doubles)
        for (held, new) in [
            (&mut self.rows.reference, reference),
            (&mut self.rows.reflectance, reflectance),
        ] {
            held.reserve_exact(new.len());
            held.extend(new.iter().map(|&v| to_reflectance(v)));
        }
        let held = &mut self.rows.secondary;
        held.reserve_exact(secondary.len());
        held.extend(secondary.iter().map(|&v| f64::from(to_reflectance(v))));
        self.received += reference.len() / self.cols;
        while self.next_grid_row < self.shape.0 {
            let block = self.next_block();
            let (rc, _) = centre(&self.p, block.end - 1, 0);
            let need = (rc + self.p.half_window.0 + self.margin + 1)
                .max(block.end * self.p.step.0)
                .min(self.lines);
            if self.received < need {
                break;
            }
            self.correlate_block(block.clone());
            self.next_grid_row = block.end;
        }
        // the rows no later grid row reads, dropped once per strip (not per grid row: each
        // drop moves the rows kept)
        let (next, _) = centre(&self.p, self.next_grid_row, 0);
        let keep = next
            .saturating_sub(self.p.half_window.0 + self.margin + 1)
            .min(self.next_grid_row * self.p.step.0);
        self.rows.drop_before(keep);
    }

    /// The grid rows correlated next, together.
    fn next_block(&self) -> Range<usize> {
        self.next_grid_row..(self.next_grid_row + BLOCK_ROWS).min(self.shape.0)
    }

    /// Correlates the cells of grid rows `block`, run by run in parallel.
    fn correlate_block(&mut self, block: Range<usize>) {
        let gc = self.shape.1;
        let this = &*self;
        let run = |k: usize| k * RUN_CELLS..((k + 1) * RUN_CELLS).min(gc);
        let runs: Vec<Vec<(Cell, bool)>> = (0..gc.div_ceil(RUN_CELLS))
            .into_par_iter()
            .map(|k| this.correlate_run(block.clone(), run(k)))
            .collect();
        for (k, cells) in runs.into_iter().enumerate() {
            let run = run(k);
            // the run's cells, grid row by grid row
            for (gi, row) in block.clone().zip(cells.chunks(run.len())) {
                let to = &mut self.cells[gi * gc + run.start..gi * gc + run.end];
                for (to, &(cell, correlated)) in to.iter_mut().zip(row) {
                    *to = cell;
                    self.correlated += usize::from(correlated);
                }
            }
        }
    }

    /// The samples of `band` in columns `cols` of image row `r`, or `None` where the row is not
    /// held or the columns leave the image.
    fn span<'a>(band: &'a [f32], rows: &Rows, r: isize, cols: Range<isize>) -> Option<&'a [f32]> {
        let held = rows.row0 as isize..(rows.row0 + rows.held()) as isize;
        if !held.contains(&r) || cols.start < 0 || cols.end > rows.cols as isize {
            return None;
        }
        let start = (r as usize - rows.row0) * rows.cols;
        band.get(start + cols.start as usize..start + cols.end as usize)
    }

    /// The cells `run` of the grid rows `block`, row by row, and whether each had the contrast
    /// to be matched.
    fn correlate_run(&self, block: Range<usize>, run: Range<usize>) -> Vec<(Cell, bool)> {
        let p = &self.p;
        let (rm, mid) = centre(
            p,
            (block.start + block.end - 1) / 2,
            (run.start + run.end - 1) / 2,
        );
        let mut cells: Vec<(Cell, Option<Ready>)> = block
            .clone()
            .flat_map(|gi| run.clone().map(move |gj| (gi, gj)))
            .map(|(gi, gj)| self.prepare(gi, gj))
            .collect();
        let e = self.views.at(rm as f64, mid as f64).epipolar();
        let norm = e.0.hypot(e.1);
        let mut lo = 0;
        if norm > 0.0 {
            let u = (e.0 / norm, e.1 / norm);
            lo = (-p.dem_margin * norm).floor() as i64 - 1;
            let mut hi = (p.max_altitude * norm).ceil() as i64 + 1;
            // The exploration limits, in steps along u.
            for (comp, limit) in [(u.0.abs(), p.exploration.1), (u.1.abs(), p.exploration.0)] {
                if comp > 1e-9 {
                    hi = hi.min((limit as f64 / comp).floor() as i64);
                }
            }
            lo = lo.max(-hi);
            let mut ready: Vec<&mut Ready> =
                cells.iter_mut().filter_map(|(_, r)| r.as_mut()).collect();
            if hi - lo >= 3 && !ready.is_empty() {
                self.score(lo..=hi, u, &mut ready);
            }
        }
        cells
            .into_iter()
            .map(|(cell, ready)| match ready {
                None => (cell, false),
                Some(r) => (peak(p, cell, lo, &r.scores), true),
            })
            .collect()
    }

    /// The cell (gi, gj) with its mean reflectance, and its reference window when it is bright
    /// enough and has the contrast to be matched.
    fn prepare(&self, gi: usize, gj: usize) -> (Cell, Option<Ready>) {
        let p = &self.p;
        let rows = &self.rows;
        let mut cell = self.cells[gi * self.shape.1 + gj];
        // Mean reflectance over the cell.
        let (mut sum, mut n) = (0.0f64, 0usize);
        let cell_cols = (gj * p.step.1) as isize..((gj + 1) * p.step.1).min(self.cols) as isize;
        for r in gi * p.step.0..((gi + 1) * p.step.0).min(self.lines) {
            let span = Self::span(&rows.reflectance, rows, r as isize, cell_cols.clone());
            for &v in span.unwrap_or_default() {
                if v.is_finite() {
                    sum += f64::from(v);
                    n += 1;
                }
            }
        }
        if n == 0 {
            return (cell, None);
        }
        cell.reflectance = (sum / n as f64) as f32;
        if f64::from(cell.reflectance) < p.min_reflectance {
            return (cell, None);
        }
        let (rc, cc) = centre(p, gi, gj);
        let (hl, hc) = (p.half_window.0 as isize, p.half_window.1 as isize);
        let (rc, cc) = (rc as isize, cc as isize);
        // The reference window.
        let wn = ((2 * hl + 1) * (2 * hc + 1)) as usize;
        let mut a = Vec::with_capacity(wn);
        for y in -hl..=hl {
            let Some(span) = Self::span(&rows.reference, rows, rc + y, cc - hc..cc + hc + 1) else {
                return (cell, None);
            };
            for &v in span {
                if !v.is_finite() {
                    return (cell, None);
                }
                a.push(f64::from(v));
            }
        }
        let ma = a.iter().sum::<f64>() / wn as f64;
        for v in a.iter_mut() {
            *v -= ma;
        }
        let saa: f64 = a.iter().map(|v| v * v).sum();
        if (saa / wn as f64).sqrt() < MIN_WINDOW_STD {
            return (cell, None);
        }
        let sa = a.iter().sum();
        let ready = Ready {
            grid_row: gi,
            first_col: cc - hc,
            a,
            sa,
            saa,
            scores: Vec::new(),
        };
        (cell, Some(ready))
    }

    /// Zero-mean normalised correlation of each cell's reference window (in `ready`, a run's
    /// cells over a block of grid rows, row by row and in column order) with the secondary
    /// band shifted by s·`u` pixels (`u`: columns, lines), s in `shifts`; -1 where the shifted
    /// window leaves the rows held, meets a no-data sample or has no contrast.
    fn score(
        &self,
        shifts: std::ops::RangeInclusive<i64>,
        u: (f64, f64),
        ready: &mut [&mut Ready],
    ) {
        let p = &self.p;
        let rows = &self.rows;
        let (hl, hc) = (p.half_window.0 as isize, p.half_window.1 as isize);
        let (height, width) = ((2 * hl + 1) as usize, (2 * hc + 1) as usize);
        let step = p.step.0;
        let n = (height * width) as f64;
        let mut shifted = Shifted::default();
        let mut acc = vec![0.0; width];
        // a score per shift: grown one by one, each cell's vector was copied five times
        let count = shifts.clone().count();
        ready.iter_mut().for_each(|r| r.scores.reserve_exact(count));
        for s in shifts {
            let (dr, dc) = (s as f64 * u.1, s as f64 * u.0);
            let (r0, c0) = (dr.floor(), dc.floor());
            let (fr, fc) = (dr - r0, dc - c0);
            let (r0, c0) = (r0 as isize, c0 as isize);
            // taps per axis and the offset of the first from the sample below the point (the
            // nearest sample is the next one from half a pixel on)
            let (taps, row_offset, col_offset) = match p.spline {
                Spline::Nearest => (1, isize::from(fr >= 0.5), isize::from(fc >= 0.5)),
                Spline::Linear => (2, 0, 0),
                Spline::Cubic => (4, -1, -1),
            };
            // the secondary samples a window reads: rows and columns held, else no score
            let first_row = |gi: usize| centre(p, gi, 0).0 as isize - hl + r0 + row_offset;
            let held = |gi: usize| {
                first_row(gi) >= rows.row0 as isize
                    && first_row(gi) + 2 * hl + taps - 1 < (rows.row0 + rows.held()) as isize
            };
            let first_col = |r: &Ready| r.first_col + c0 + col_offset;
            let inside = |r: &Ready| {
                held(r.grid_row)
                    && first_col(r) >= 0
                    && first_col(r) + 2 * hc + taps - 1 < rows.cols as isize
            };
            let (Some(first), Some(last)) = (
                ready.iter().find(|r| inside(r)),
                ready.iter().rev().find(|r| inside(r)),
            ) else {
                ready.iter_mut().for_each(|r| r.scores.push(-1.0));
                continue;
            };
            // the grid rows held, from the first's windows' rows to the last's
            let (top, bottom) = (first.grid_row, last.grid_row);
            let cols = ready.iter().filter(|r| inside(r)).map(|r| first_col(r));
            let (x0, x1) = cols.fold((isize::MAX, isize::MIN), |(lo, hi), c| {
                (lo.min(c), hi.max(c))
            });
            let x1 = x1 + width as isize;
            let secondary = &rows.secondary[(first_row(top) as usize - rows.row0) * rows.cols..];
            let at = (rows.cols, x0 as usize);
            let shape = ((bottom - top) * step + height, (x1 - x0) as usize);
            match p.spline {
                Spline::Nearest => shifted.fill(secondary, at, shape, [1.0], [1.0]),
                Spline::Linear => {
                    shifted.fill(secondary, at, shape, [1.0 - fr, fr], [1.0 - fc, fc])
                }
                Spline::Cubic => {
                    shifted.fill(secondary, at, shape, resample::keys(fr), resample::keys(fc))
                }
            }
            for cells in ready.chunk_by_mut(|a, b| a.grid_row == b.grid_row) {
                // a grid row with a window inside lies within top..=bottom, and its rows among
                // those interpolated (one held may have none, and lie beyond them)
                let gi = cells[0].grid_row;
                let y0 = (top..=bottom).contains(&gi).then(|| {
                    let y0 = (gi - top) * step;
                    shifted.column_sums(y0..y0 + height);
                    y0
                });
                for r in cells.iter_mut() {
                    let score = match y0 {
                        Some(y0) if inside(r) => {
                            let x = (first_col(r) - x0) as usize;
                            let (sb, sbb, sab) = shifted.sums((y0, x), &r.a, &mut acc);
                            zncc(n, (r.sa, r.saa), (sb, sbb, sab))
                        }
                        _ => -1.0,
                    };
                    r.scores.push(score);
                }
            }
        }
    }

    /// Correlates what is left and classifies the cells (module doc, steps 2 to 6);
    /// `dem(line, col)` gives the DEM height at a pixel.
    pub fn finish(mut self, dem: &dyn Fn(f64, f64) -> f64) -> StereoResult {
        if self.received < self.lines {
            // Rows that never came (the caller stopped early): nothing more to correlate.
            self.next_grid_row = self.shape.0;
        }
        while self.next_grid_row < self.shape.0 {
            let block = self.next_block();
            self.correlate_block(block.clone());
            self.next_grid_row = block.end;
        }
        classify(self, dem)
    }
}

/// Zero-mean normalised correlation over a window of `n` samples, from the reference's sum and
/// sum of squares about its mean and the secondary's Σb, Σb² and Σa·b; -1 when the secondary
/// window meets a no-data sample (the sums are NaN) or has no contrast.
fn zncc(n: f64, (sa, saa): (f64, f64), (sb, sbb, sab): (f64, f64, f64)) -> f64 {
    if !(sb.is_finite() && sbb.is_finite() && sab.is_finite()) {
        return -1.0;
    }
    let mb = sb / n;
    let sbb = sbb - sb * mb;
    // no contrast (a flat window leaves only rounding here)
    if sbb <= n * FLAT_VARIANCE {
        return -1.0;
    }
    (sab - mb * sa) / (saa * sbb).sqrt()
}

/// The cell with its disparity from its correlation `scores` at the shifts from `lo` on (module
/// doc, step 1): the best integer shift, refined by a parabola, when it passes the thresholds,
/// is not on the search's border and has no rival.
fn peak(p: &StereoParams, mut cell: Cell, lo: i64, scores: &[f64]) -> Cell {
    if scores.is_empty() {
        return cell;
    }
    let (mut k, mut best) = (0usize, f64::MIN);
    for (i, &c) in scores.iter().enumerate() {
        if c > best {
            best = c;
            k = i;
        }
    }
    cell.score = best as f32;
    if best < p.initial_threshold || k == 0 || k + 1 == scores.len() {
        return cell;
    }
    // Another local maximum almost as good: a periodic landscape.
    let rival = (1..scores.len() - 1)
        .filter(|&i| i.abs_diff(k) >= 2)
        .filter(|&i| scores[i] >= scores[i - 1] && scores[i] >= scores[i + 1])
        .map(|i| scores[i])
        .fold(f64::MIN, f64::max);
    if best - rival < p.periodic_threshold {
        return cell;
    }
    let (m, c0, pl) = (scores[k - 1], best, scores[k + 1]);
    let denom = m - 2.0 * c0 + pl;
    let (delta, peak) = if denom < 0.0 {
        let d = (0.5 * (m - pl) / denom).clamp(-0.5, 0.5);
        (d, c0 - 0.25 * (m - pl) * d)
    } else {
        (0.0, c0)
    };
    cell.score = peak as f32;
    if peak < p.final_threshold {
        return cell;
    }
    cell.disparity = ((lo + k as i64) as f64 + delta) as f32;
    cell
}

/// Pixel (line, column) at the centre of grid cell (gi, gj).
fn centre(p: &StereoParams, gi: usize, gj: usize) -> (usize, usize) {
    (gi * p.step.0 + p.step.0 / 2, gj * p.step.1 + p.step.1 / 2)
}

/// Farthest a bright cell may lie from a cell measured at the ground to be marked
/// [`CLD_GROUND`] with it, cells (VIP).
const GROUND_REACH: usize = 8;

/// L1C CLD band value of a cloud (the L1 cloud mask).
pub const CLD_CLOUD: i16 = 1;
/// L1C CLD band value of a bright pixel the stereo measured at the ground (VIP).
pub const CLD_GROUND: i16 = 2;

/// What the L1 cloud detection produced, on the correlation grid.
#[derive(Debug, Clone)]
pub struct StereoResult {
    pub params: StereoParams,
    pub lines: usize,
    pub cols: usize,
    /// Grid cells (lines, columns).
    pub shape: (usize, usize),
    pub cells: Vec<Cell>,
    /// Cloud cells as the reference band sees them, with their height above the DEM
    /// (metres; NaN: clear).
    pub seen_height: Vec<f32>,
    /// Cloud altitude above the datum at each footprint cell (metres; 0: no cloud).
    pub altitude: Vec<f32>,
    /// The cell cloud mask of the L1 (0 or 1, before resampling to the pixels).
    pub mask: Vec<f32>,
    /// Bright cells the correlation put at the ground (a valid disparity below the cloud
    /// heights), or within a few bright cells of one (`GROUND_REACH`): snow or bright soil, which
    /// the L2 must not take for cloud by its brightness.
    pub ground: Vec<bool>,
    pub stats: StereoStats,
}

/// Figures for the L1 header.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StereoStats {
    /// Grid cells correlated, and those with a valid disparity.
    pub correlated: usize,
    pub valid: usize,
    /// Mean peak correlation of the valid cells.
    pub mean_score: f64,
    /// Valid cells measured as cloud and as ground.
    pub cloud_points: usize,
    pub ground_points: usize,
    /// Reflectance threshold used for regions without a valid point.
    pub reflectance_threshold: f64,
    /// Footprint cells with a cloud.
    pub cloud_cells: usize,
    /// Mean and standard deviation of the cloud altitude over them (m, above the datum), and
    /// their histogram in percent (0-2 km, ..., 12-14 km, above 14 km).
    pub altitude_mean: f64,
    pub altitude_std: f64,
    pub histogram: [f64; HISTOGRAM_BINS],
    /// Mean and standard deviation of the reflectance band over the cloud cells as the
    /// reference band sees them (reflectance).
    pub radiometry_mean: f64,
    pub radiometry_std: f64,
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    })
}

fn neighbours(
    (gl, gc): (usize, usize),
    i: usize,
    j: usize,
    (hr, hc): (usize, usize),
) -> impl Iterator<Item = usize> {
    let rows = i.saturating_sub(hr)..(i + hr + 1).min(gl);
    rows.flat_map(move |a| (j.saturating_sub(hc)..(j + hc + 1).min(gc)).map(move |b| a * gc + b))
}

fn classify(s: Stereo, dem: &dyn Fn(f64, f64) -> f64) -> StereoResult {
    // Everything below is held for the whole grid (a 16th of the pixels), so it is kept lean
    // for long scenes: the strip rows go first, the viewing geometry is interpolated from the
    // coarse nodes where a cell needs it, and labels are 32-bit.
    let Stereo {
        p,
        lines,
        cols,
        shape: (gl, gc),
        views,
        rows,
        cells,
        correlated,
        ..
    } = s;
    drop(rows);
    let n = gl * gc;
    assert!(n < u32::MAX as usize, "{n} stereo cells");
    let geom = |k: usize| {
        let (r, c) = centre(&p, k / gc, k % gc);
        views.at(r as f64, c as f64)
    };
    let norm = |k: usize| {
        let e = geom(k).epipolar();
        e.0.hypot(e.1)
    };
    // Step 2: median filtering of the disparities.
    let mut disparity: Vec<f32> = cells.iter().map(|c| c.disparity).collect();
    if p.filtering {
        disparity = (0..n)
            .into_par_iter()
            .map(|k| {
                let d = cells[k].disparity;
                if d.is_nan() {
                    return d;
                }
                let mut around: Vec<f64> = neighbours((gl, gc), k / gc, k % gc, (1, 1))
                    .filter(|&m| m != k)
                    .map(|m| f64::from(cells[m].disparity))
                    .filter(|v| v.is_finite())
                    .collect();
                match median(&mut around) {
                    Some(m) if (f64::from(d) - m).abs() > 1.0 => f32::NAN,
                    _ => d,
                }
            })
            .collect();
    }
    // Heights above the DEM; cloud (true) or ground (false) votes.
    let mut height = vec![f64::NAN; n];
    let mut vote: Vec<Option<bool>> = vec![None; n];
    for k in 0..n {
        let d = f64::from(disparity[k]);
        if d.is_nan() {
            continue;
        }
        let h = d / norm(k);
        height[k] = h;
        vote[k] = Some(d >= p.disparity_threshold && h >= p.dem_margin && h <= p.max_altitude);
    }
    if p.k_filter >= 0 {
        let hs: Vec<f64> = (0..n)
            .filter(|&k| vote[k] == Some(true))
            .map(|k| height[k])
            .collect();
        if hs.len() >= 3 {
            let m = hs.iter().sum::<f64>() / hs.len() as f64;
            let sd = (hs.iter().map(|h| (h - m).powi(2)).sum::<f64>() / hs.len() as f64).sqrt();
            for k in 0..n {
                if vote[k] == Some(true) && (height[k] - m).abs() > p.k_filter as f64 * sd {
                    vote[k] = None;
                }
            }
        }
    }
    let mut cloud_refl: Vec<f64> = (0..n)
        .filter(|&k| vote[k] == Some(true))
        .map(|k| f64::from(cells[k].reflectance))
        .collect();
    let threshold = match median(&mut cloud_refl) {
        Some(m) => p.max_reflectance.min(p.adjustment_factor * m),
        None => p.max_reflectance,
    };
    let mut all_cloud_h: Vec<f64> = (0..n)
        .filter(|&k| vote[k] == Some(true))
        .map(|k| height[k])
        .collect();
    let scene_height = median(&mut all_cloud_h);
    // Step 3: every bright cell takes the label of the nearest valid point reached through
    // bright cells (a breadth-first search from all of them at once, in index order); bright
    // regions no valid point reaches are tested on their mean reflectance.
    let bright: Vec<bool> = cells
        .iter()
        .map(|c| f64::from(c.reflectance) >= p.min_reflectance)
        .collect();
    // Label: the index of the valid point a cell took its vote from, and how many cells away.
    let mut from = vec![u32::MAX; n];
    let mut hops = vec![0u8; n];
    // (cells as u32, as the labels: the queue may hold most of the grid)
    let mut queue = std::collections::VecDeque::new();
    for k in 0..n {
        if bright[k] && vote[k].is_some() {
            from[k] = k as u32;
            queue.push_back(k as u32);
        }
    }
    while let Some(k) = queue.pop_front() {
        let k = k as usize;
        for m in neighbours((gl, gc), k / gc, k % gc, (1, 1)) {
            if bright[m] && from[m] == u32::MAX {
                from[m] = from[k];
                hops[m] = hops[k].saturating_add(1);
                queue.push_back(m as u32);
            }
        }
    }
    // Bright cells at the ground: measured there, or near such a cell (the image's borders,
    // where no window fits, and textureless snow between); a cloud's uniform interior takes
    // the votes of its own textured edges.
    let ground: Vec<bool> = (0..n)
        .map(|k| {
            bright[k]
                && from[k] != u32::MAX
                && vote[from[k] as usize] == Some(false)
                && usize::from(hops[k]) <= GROUND_REACH
        })
        .collect();
    let mut seen_height = vec![f32::NAN; n];
    for k in 0..n {
        if from[k] != u32::MAX && vote[from[k] as usize] == Some(true) {
            seen_height[k] = height[from[k] as usize] as f32;
        }
    }
    let fill = scene_height.unwrap_or(p.dem_margin) as f32;
    let mut stack = Vec::new();
    for start in 0..n {
        if !bright[start] || from[start] != u32::MAX {
            continue;
        }
        let mut members = Vec::new();
        from[start] = start as u32;
        stack.push(start);
        while let Some(k) = stack.pop() {
            members.push(k);
            for m in neighbours((gl, gc), k / gc, k % gc, (1, 1)) {
                if bright[m] && from[m] == u32::MAX {
                    from[m] = start as u32;
                    stack.push(m);
                }
            }
        }
        let mean = members
            .iter()
            .map(|&k| f64::from(cells[k].reflectance))
            .sum::<f64>()
            / members.len() as f64;
        if mean >= threshold {
            for &k in &members {
                seen_height[k] = fill;
            }
        }
    }
    // Step 4: erosion then dilation (in cells).
    let half = |(r, c): (usize, usize)| (r.max(1) / 2, c.max(1) / 2);
    let (er, ec) = half(p.eroding);
    if er + ec > 0 {
        let before = seen_height.clone();
        for k in 0..n {
            if !before[k].is_nan()
                && neighbours((gl, gc), k / gc, k % gc, (er, ec)).any(|m| before[m].is_nan())
            {
                seen_height[k] = f32::NAN;
            }
        }
    }
    let (dr, dc) = half(p.dilating);
    if dr + dc > 0 {
        let before = seen_height.clone();
        for k in 0..n {
            if before[k].is_nan() && cells[k].reflectance.is_finite() {
                let h = neighbours((gl, gc), k / gc, k % gc, (dr, dc))
                    .map(|m| before[m])
                    .filter(|v| !v.is_nan())
                    .fold(f32::NAN, f32::max);
                seen_height[k] = h;
            }
        }
    }
    // Step 5: footprints.
    let to_cell = |r: f64, c: f64| -> Option<usize> {
        let (i, j) = ((r / p.step.0 as f64).floor(), (c / p.step.1 as f64).floor());
        (i >= 0.0 && j >= 0.0 && (i as usize) < gl && (j as usize) < gc)
            .then(|| i as usize * gc + j as usize)
    };
    let mut foot_h = vec![f32::NAN; n];
    let mut altitude = vec![0f32; n];
    for (k, &h) in seen_height.iter().enumerate() {
        if h.is_nan() {
            continue;
        }
        let (r, c) = centre(&p, k / gc, k % gc);
        let d = geom(k).reference;
        let hh = f64::from(h);
        if let Some(m) = to_cell(r as f64 + hh * d.1, c as f64 + hh * d.0) {
            // (the DEM height at the cell centre, as f32)
            let z = h + dem(r as f64, c as f64) as f32;
            if foot_h[m].is_nan() || z > altitude[m] {
                foot_h[m] = h;
                altitude[m] = z.max(1.0);
            }
        }
    }
    for _ in 0..2 {
        let (before, z_before) = (foot_h.clone(), altitude.clone());
        for k in 0..n {
            if !before[k].is_nan() {
                continue;
            }
            let filled: Vec<usize> = neighbours((gl, gc), k / gc, k % gc, (1, 1))
                .filter(|&m| m != k && !before[m].is_nan())
                .collect();
            if filled.len() >= 5 {
                let m = *filled
                    .iter()
                    .max_by(|&&a, &&b| z_before[a].total_cmp(&z_before[b]).then(b.cmp(&a)))
                    .expect("five neighbours");
                foot_h[k] = before[m];
                altitude[k] = z_before[m];
            }
        }
    }
    // Step 6: the L1 mask.
    let mut mask = vec![0f32; n];
    match p.final_dilation {
        DilationChoice::Automatic => {
            let mut hs: Vec<f64> = foot_h
                .iter()
                .filter(|h| !h.is_nan())
                .map(|&h| f64::from(h))
                .collect();
            hs.sort_by(f64::total_cmp);
            let cap = if hs.is_empty() {
                0.0
            } else {
                let q = 1.0 - p.max_disparity_eliminated_percent / 100.0;
                hs[((q * (hs.len() - 1) as f64).round() as usize).min(hs.len() - 1)]
            };
            for (k, &fh) in foot_h.iter().enumerate() {
                if fh.is_nan() {
                    continue;
                }
                let h = f64::from(fh).min(cap);
                let (r, c) = centre(&p, k / gc, k % gc);
                let (r, c) = (r as f64, c as f64);
                let g = geom(k);
                let seen = |d: (f64, f64)| (r - h * d.1, c - h * d.0);
                let (a, b) = (seen(g.detectors[0]), seen(g.detectors[3]));
                let len = (a.0 - b.0).hypot(a.1 - b.1) / p.step.0.min(p.step.1) as f64;
                let steps = (2.0 * len).ceil() as usize + 1;
                for t in 0..=steps {
                    let t = t as f64 / steps as f64;
                    if let Some(m) = to_cell(a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t) {
                        mask[m] = 1.0;
                    }
                }
                for d in g.detectors.iter().chain([&g.reference, &g.secondary]) {
                    let (y, x) = seen(*d);
                    if let Some(m) = to_cell(y, x) {
                        mask[m] = 1.0;
                    }
                }
            }
        }
        DilationChoice::Fixed => {
            let hr = p.final_dilating.0.div_ceil(p.step.0) / 2;
            let hc = p.final_dilating.1.div_ceil(p.step.1) / 2;
            for (k, v) in mask.iter_mut().enumerate() {
                if neighbours((gl, gc), k / gc, k % gc, (hr, hc)).any(|m| !seen_height[m].is_nan())
                {
                    *v = 1.0;
                }
            }
        }
    }
    // Statistics.
    let (valid, score_sum) = (0..n)
        .filter(|&k| !disparity[k].is_nan())
        .fold((0, 0.0), |(v, s), k| (v + 1, s + f64::from(cells[k].score)));
    let mut stats = StereoStats {
        correlated,
        valid,
        mean_score: if valid == 0 {
            0.0
        } else {
            score_sum / valid as f64
        },
        cloud_points: vote.iter().filter(|v| **v == Some(true)).count(),
        ground_points: vote.iter().filter(|v| **v == Some(false)).count(),
        reflectance_threshold: threshold,
        ..Default::default()
    };
    let zs: Vec<f64> = (0..n)
        .filter(|&k| !foot_h[k].is_nan())
        .map(|k| f64::from(altitude[k]))
        .collect();
    stats.cloud_cells = zs.len();
    if !zs.is_empty() {
        let m = zs.iter().sum::<f64>() / zs.len() as f64;
        stats.altitude_mean = m;
        stats.altitude_std =
            (zs.iter().map(|z| (z - m).powi(2)).sum::<f64>() / zs.len() as f64).sqrt();
        for z in &zs {
            let b = ((z / 2000.0).floor().max(0.0) as usize).min(HISTOGRAM_BINS - 1);
            stats.histogram[b] += 100.0 / zs.len() as f64;
        }
    }
    let rs: Vec<f64> = (0..n)
        .filter(|&k| !seen_height[k].is_nan() && cells[k].reflectance.is_finite())
        .map(|k| f64::from(cells[k].reflectance))
        .collect();
    if !rs.is_empty() {
        let m = rs.iter().sum::<f64>() / rs.len() as f64;
        stats.radiometry_mean = m;
        stats.radiometry_std =
            (rs.iter().map(|z| (z - m).powi(2)).sum::<f64>() / rs.len() as f64).sqrt();
    }
    StereoResult {
        params: p,
        lines,
        cols,
        shape: (gl, gc),
        cells,
        seen_height,
        altitude,
        mask,
        ground,
        stats,
    }
}

impl StereoResult {
    /// The L1 cloud mask of image rows `rows`, full width: [`CLD_CLOUD`] where the cell
    /// mask, interpolated bilinearly between cell centres, reaches `Binarization_Threshold`
    /// (never in cells without a valid pixel); else [`CLD_GROUND`] in the bright cells the
    /// correlation measured at the ground; else 0.
    pub fn mask_rows(&self, rows: Range<usize>) -> Vec<i16> {
        let p = &self.params;
        let (gl, gc) = self.shape;
        let t = p.binarization_threshold as f32;
        let coord = |x: usize, step: usize, n: usize| {
            let g = ((x as f64 + 0.5) / step as f64 - 0.5).clamp(0.0, (n - 1) as f64);
            let i = (g.floor() as usize).min(n.saturating_sub(2));
            let i1 = (i + 1).min(n - 1);
            (i, i1, (g - i as f64) as f32)
        };
        let cols: Vec<(usize, usize, f32)> =
            (0..self.cols).map(|c| coord(c, p.step.1, gc)).collect();
        rows.into_par_iter()
            .flat_map_iter(|r| {
                let (i, i1, ty) = coord(r, p.step.0, gl);
                let cell_row = r / p.step.0;
                cols.iter().enumerate().map(move |(c, &(j, j1, tx))| {
                    let m = |a: usize, b: usize| self.mask[a * gc + b];
                    let top = m(i, j) * (1.0 - tx) + m(i, j1) * tx;
                    let bottom = m(i1, j) * (1.0 - tx) + m(i1, j1) * tx;
                    let v = top * (1.0 - ty) + bottom * ty;
                    let own = cell_row * gc + c / p.step.1;
                    if v >= t && self.cells[own].reflectance.is_finite() {
                        CLD_CLOUD
                    } else if self.ground[own] {
                        CLD_GROUND
                    } else {
                        0
                    }
                })
            })
            .collect()
    }

    /// The CLA annex values: altitude above the datum in metres, rounded, 0 where clear.
    pub fn altitude_u16(&self) -> Vec<u16> {
        self.altitude
            .iter()
            .map(|&z| z.round().clamp(0.0, 65535.0) as u16)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> StereoParams {
        StereoParams::from_gipp(&vip_default(), Path::new("CLOUDD.EEF")).unwrap()
    }

    #[test]
    fn the_defaults_pass_their_own_checks() {
        let p = params();
        assert_eq!((p.reference, p.secondary, p.reflectance), (4, 5, 1));
        assert_eq!(p.half_window, (5, 5));
        assert_eq!(p.grid_shape(10, 9), (3, 3));
    }

    #[test]
    fn out_of_range_elements_are_bad_input_naming_them() {
        let path = Path::new("VE_TEST_GIP_CLOUDD.EEF");
        type Change = Box<dyn Fn(&mut Cloudd)>;
        let cases: Vec<(Change, &str)> = vec![
            (
                Box::new(|c| c.window_lines = 10),
                "Reference_Window_Nb_Of_Lines",
            ),
            (
                Box::new(|c| c.secondary_band = "B05".into()),
                "Stereo_Secondary_Band_Code",
            ),
            (Box::new(|c| c.reflectance_band = "B13".into()), "B13"),
            (
                Box::new(|c| c.max_altitude = -5.0),
                "Cloud_Detection_Maximum_Altitude",
            ),
            (Box::new(|c| c.spline_order = 2), "Spline_Order"),
            (
                Box::new(|c| c.final_threshold = 1.5),
                "Final_Resemblance_Threshold",
            ),
            (
                Box::new(|c| c.binarization_threshold = 0.0),
                "Binarization_Threshold",
            ),
        ];
        for (change, needle) in cases {
            let mut c = vip_default();
            change(&mut c);
            let e = StereoParams::from_gipp(&c, path).unwrap_err();
            assert_eq!(e.exit_code(), 3);
            let msg = e.to_string();
            assert!(
                msg.contains(needle) && msg.contains("VE_TEST_GIP_CLOUDD"),
                "{msg}"
            );
        }
    }

    /// A synthetic pair: a textured bright square shifted by a known disparity along the
    /// epipolar direction over a textured darker ground that is not shifted.
    #[test]
    fn a_shifted_square_is_found_at_its_height_and_the_ground_is_not() {
        let (lines, cols) = (160usize, 160usize);
        let mut p = params();
        p.dilating = (1, 1);
        // e = 0.005 px/m along the lines (B05 north of B06, say): 2000 m = 10 px.
        let views = |_: f64, _: f64| Views {
            reference: (0.0, 0.01),
            secondary: (0.0, 0.005),
            detectors: [(0.0, 0.01), (0.0, 0.008), (0.0, 0.006), (0.0, 0.005)],
        };
        let dem = |_: f64, _: f64| 100.0;
        let tex = |r: f64, c: f64| {
            0.5 + 0.25 * ((r * 0.7).sin() * (c * 0.45).cos()) + 0.1 * ((r * 0.23 + c * 0.31).sin())
        };
        let ground = |r: f64, c: f64| 0.2 + 0.1 * tex(r * 1.3, c * 0.9);
        let inside = |r: f64, c: f64| (50.0..100.0).contains(&r) && (40.0..110.0).contains(&c);
        let image = |shift: f64| -> Vec<i16> {
            (0..lines * cols)
                .map(|k| {
                    let (r, c) = ((k / cols) as f64, (k % cols) as f64);
                    let v = if inside(r - shift, c) {
                        tex(r - shift, c)
                    } else {
                        ground(r, c)
                    };
                    (v / 0.001).round() as i16
                })
                .collect()
        };
        let (a, b) = (image(0.0), image(10.0));
        let mut st = Stereo::new(p, lines, cols, &views);
        for r0 in (0..lines).step_by(32) {
            let r1 = (r0 + 32).min(lines);
            let s = r0 * cols..r1 * cols;
            st.push(r0, &a[s.clone()], &b[s.clone()], &a[s]);
        }
        let out = st.finish(&dem);
        let (gl, gc) = out.shape;
        let at = |r: usize, c: usize| (r / 4) * gc + c / 4;
        let h = out.seen_height[at(75, 75)];
        assert!((h - 2000.0).abs() < 100.0, "{h}");
        assert!(out.seen_height[at(20, 20)].is_nan());
        assert!(
            out.stats.ground_points > 0 && out.stats.cloud_points > 0,
            "{:?}",
            out.stats
        );
        // The footprint is 2000 m × 0.01 px/m = 20 px south (down) of where B05 sees it.
        assert!(out.altitude[at(95, 75)] > 2000.0);
        assert_eq!(out.altitude[at(45, 75)], 0.0);
        assert_eq!(gl, 40);
        let m = out.mask_rows(0..lines);
        assert_eq!(m[75 * cols + 75], CLD_CLOUD);
        // the textured ground is bright enough to be matched, at zero disparity
        assert_eq!(m[10 * cols + 10], CLD_GROUND);
    }

    /// The scores of a run's cells over a block of grid rows, taken together from shared
    /// interpolated rows, are those of each window correlated on its own by the definition
    /// (each sample interpolated on its own, then ZNCC), for every spline, along a slanted
    /// epipolar direction and at the image's edges, where shifted windows leave its rows or
    /// columns.
    #[test]
    fn a_runs_shared_scores_are_each_windows_own() {
        let (lines, cols) = (60usize, 90usize);
        let views = |_: f64, _: f64| Views {
            reference: (0.003, 0.01),
            secondary: (0.0, 0.005),
            detectors: [(0.0, 0.0); 4],
        };
        let tex = |k: usize, f: f64| {
            let (r, c) = ((k / cols) as f64, (k % cols) as f64);
            0.3 + 0.1 * (r * 0.37 * f).sin() * (c * 0.29).cos()
                + 0.05 * ((r * 0.11 - c * 0.23) * f).sin()
        };
        let e = views(0.0, 0.0).epipolar();
        let u = (e.0 / e.0.hypot(e.1), e.1 / e.0.hypot(e.1));
        for spline in [Spline::Nearest, Spline::Linear, Spline::Cubic] {
            let mut p = params();
            p.spline = spline;
            let mut st = Stereo::new(p.clone(), lines, cols, &views);
            st.rows.reference = (0..lines * cols).map(|k| tex(k, 1.0) as f32).collect();
            st.rows.secondary = (0..lines * cols).map(|k| tex(k, 1.3)).collect();
            st.rows.reflectance = vec![0.3; lines * cols];
            st.received = lines;
            let block = 1..9;
            let shifts = -5..=12;
            let mut cells: Vec<(usize, usize, Ready)> = block
                .clone()
                .flat_map(|gi| (0..st.shape.1).map(move |gj| (gi, gj)))
                // the last grid row keeps only its last cells, whose windows leave the columns
                // at the larger shifts: that row is then held without a window inside
                .filter(|&(gi, gj)| gi + 1 < block.end || gj + 4 >= st.shape.1)
                .filter_map(|(gi, gj)| Some((gi, gj, st.prepare(gi, gj).1?)))
                .collect();
            let mut ready: Vec<&mut Ready> = cells.iter_mut().map(|(_, _, r)| r).collect();
            st.score(shifts.clone(), u, &mut ready);
            let b = &st.rows.secondary;
            // the secondary at (y, x) from the samples the spline weighs, None when one is
            // beyond the image's rows or columns
            let sample = |y: f64, x: f64| -> Option<f64> {
                let (r0, c0) = (y.floor(), x.floor());
                let (fy, fx) = (y - r0, x - c0);
                let (r0, c0) = (r0 as isize, c0 as isize);
                let (first, wy, wx): (isize, Vec<f64>, Vec<f64>) = match spline {
                    Spline::Nearest => {
                        let (dy, dx) = (isize::from(fy >= 0.5), isize::from(fx >= 0.5));
                        let s = |r: isize, c: isize| {
                            ((0..lines as isize).contains(&r) && (0..cols as isize).contains(&c))
                                .then(|| b[r as usize * cols + c as usize])
                        };
                        return s(r0 + dy, c0 + dx);
                    }
                    Spline::Linear => (0, vec![1.0 - fy, fy], vec![1.0 - fx, fx]),
                    Spline::Cubic => (-1, resample::keys(fy).to_vec(), resample::keys(fx).to_vec()),
                };
                let n = wx.len() as isize;
                let (y0, x0) = (r0 + first, c0 + first);
                if y0 < 0 || x0 < 0 || y0 + n > lines as isize || x0 + n > cols as isize {
                    return None;
                }
                let mut v = 0.0;
                for (i, wi) in wy.iter().enumerate() {
                    for (j, wj) in wx.iter().enumerate() {
                        let (r, c) = (r0 + first + i as isize, c0 + first + j as isize);
                        v += wi * wj * b[r as usize * cols + c as usize];
                    }
                }
                Some(v)
            };
            let (mut scored, mut edge, mut edge_rows) = (0, 0, 0);
            for (gi, gj, r) in &cells {
                let (rc, cc) = centre(&p, *gi, *gj);
                for (k, s) in shifts.clone().enumerate() {
                    let (dr, dc) = (s as f64 * u.1, s as f64 * u.0);
                    let mut pairs = vec![];
                    for y in -5..=5 {
                        for x in -5..=5 {
                            let (r, c) = ((rc as i64 + y) as usize, (cc as i64 + x) as usize);
                            let a = f64::from(st.rows.reference[r * cols + c]);
                            pairs.push((a, sample(r as f64 + dr, c as f64 + dc)));
                        }
                    }
                    let want = if pairs.iter().all(|(_, b)| b.is_some()) {
                        let n = pairs.len() as f64;
                        let ma = pairs.iter().map(|(a, _)| a).sum::<f64>() / n;
                        let mb = pairs.iter().map(|(_, b)| b.unwrap()).sum::<f64>() / n;
                        let (mut ab, mut aa, mut bb) = (0.0, 0.0, 0.0);
                        for (a, b) in &pairs {
                            let (da, db) = (a - ma, b.unwrap() - mb);
                            (ab, aa, bb) = (ab + da * db, aa + da * da, bb + db * db);
                        }
                        scored += 1;
                        ab / (aa * bb).sqrt()
                    } else {
                        edge += 1;
                        edge_rows += usize::from(rc as f64 - 5.0 + dr < 0.0);
                        -1.0
                    };
                    let got = r.scores[k];
                    assert!(
                        (got - want).abs() < 1e-9,
                        "{spline:?}, cell {gj}, shift {s}: {got} against {want}"
                    );
                }
            }
            assert!(
                scored > 100 && edge > 5 && edge_rows > 5,
                "{spline:?}: {scored} scored, {edge} at the edge, {edge_rows} of them by rows"
            );
        }
    }
}
