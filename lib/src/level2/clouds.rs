//! The mask pass of `vip-maccs l2`: before any estimate, every pixel is tested for cloud, snow
//! and water ([`crate::cloud::mask`]) on its Rayleigh-corrected reflectance; cloud cells of
//! [`MASK_CELL_M`] are dilated (EXTENSION) and cast their shadows on the DEM
//! ([`crate::cloud::shadow`]). The pass holds the scene's masks whole at full resolution, one
//! byte per pixel each (27 MB apiece for a 5200 × 5200 scene): the shadows of a cloud fall
//! kilometres away from it, so no strip can be finished on its own. Once finished, the masks
//! wait in an anonymous temporary file (in `TMPDIR`), from which the later passes read the
//! rows of their strips ([`Masks::rows`]): what those passes hold does not grow with the
//! scene's length.

use rayon::prelude::*;

use super::coarse::{CellGeometry, Grid, NB};
use super::l2comm::L2COMM_COARSE_M;
use super::{read_strip, seen_toa, StripTerrain};
use crate::atmosphere::surface::{PixelTerms, Slope, SlopeLight};
use crate::atmosphere::BandLuts;
use crate::cli::{progress, Options};
use crate::cloud::mask::{CloudParams, Composite, StereoSeen, Verdict};
use crate::cloud::shadow::{CellMask, Shadows};
use crate::cloud::texture::{Texture, TextureTest};
use crate::context::{self, Context, Strip as ContextStrip};
use crate::error::{Result, VipError};
use crate::geometry::dem::Dem;
use crate::geometry::directions::DirectionGrid;
use crate::geometry::grid::Site;
use crate::product::l1c::{self, angles_to_grid, CloudAltitude, L1c};
use crate::product::l2a::bits;
use crate::raster::{self, Strips};
use chrono::NaiveDate;

/// The CLD bits of the cloud tests (not their extension, not shadows).
const TESTS: u8 = bits::CLD_REFL | bits::CLD_REFL_VAR | bits::CLD_ALT;

/// The bits of the spectral tests, which the correlation test may clear.
const SPECTRAL: u8 = bits::CLD_REFL | bits::CLD_REFL_VAR;

/// Step the sun ray is followed at, metres of altitude (a cloud counts within half a step).
const SHADOW_STEP_M: f64 = 50.0;

/// The cloud bits whose clouds cast the shadows searched: the bright ones. A cloud dim enough
/// to pass only the multi-temporal or stereo tests (optical thickness about 1 or less) lets
/// most of the sun through, scattered forward; its shadow darkens the ground by a few percent.
const CASTING: u8 = bits::CLD_REFL;

/// Per site column, the columns of its coarse cell and of its mask cell (the same on every
/// row; per pixel, three integer divisions).
type CellColumns = [(usize, usize)];

/// Least illumination of a slope relative to flat ground that [`slope_light`] gives.
const MIN_ILLUMINATION: f64 = 0.3;

/// The light a slope gets relative to flat ground at zero aerosol (direct sun on the slope,
/// sky it sees), at least [`MIN_ILLUMINATION`]. The snow test divides the RCR by it, and the
/// context keeps its composite so divided (a flat-ground equivalent), relit by the day's light
/// before it is compared: the sun climbs by 10° between March and April, and a slope facing
/// it loses a fifth of its RCR while its surface stays the same.
/// The slope's terms come as [`SlopeLight`], the same in every band.
pub fn slope_light(rayleigh: &PixelTerms, slope: &SlopeLight) -> f64 {
    rayleigh.lit(slope, 0.0).max(MIN_ILLUMINATION)
}

/// [`slope_light`] in every band of a pixel of coarse cell `cell` on `slope`; `rayleigh` per
/// band and cell.
pub fn pixel_light(rayleigh: &[Vec<PixelTerms>], cell: usize, slope: &Slope) -> [f64; NB] {
    let light = SlopeLight::from(slope);
    std::array::from_fn(|b| slope_light(&rayleigh[b][cell], &light))
}

/// The shading test of snow (VENµS has no SWIR to tell snow from a cloud over it): over
/// blocks of [`SHADING_BLOCK_M`], the blue RCR of the pixels the snow test passed must follow
/// the direct sun's illumination of their slopes, with a correlation of at least
/// [`SHADING_MIN_CORRELATION`] and a gain (RCR per unit of direct illumination relative to
/// flat ground) of at least [`SHADING_MIN_GAIN`], when the slopes are lit differently enough
/// (standard deviation of that illumination from [`SHADING_MIN_STD`], over
/// [`SHADING_MIN_PIXELS`] pixels). Snow in the sun shows the relief's light and shade with a
/// gain of its albedo; a cloud over snow (its white inherits the snow's NIR absorption and
/// its texture shows through to the stereo) hides it, as does an overcast, whose light comes
/// from the whole sky. Such "snow" is cloud.
const SHADING_BLOCK_M: f64 = 200.0;
const SHADING_MIN_PIXELS: usize = 200;
const SHADING_MIN_STD: f64 = 0.1;
const SHADING_MIN_CORRELATION: f64 = 0.3;
const SHADING_MIN_GAIN: f64 = 0.15;
/// ... and a block with "snow" but no pixel darker than this in the blue (RCR) lies under a
/// cloud: one thick enough to hide snow (optical thickness 5, albedo 0.35) lifts every pixel
/// above it, while sunlit mountains mostly hold darker ground (rock, forest, shade); unless
/// its snow follows the shading (a snowfield 200 m wide all in the sun).
const SHADING_DARKEST_MAX: f64 = 0.5;

/// MSK bit the pass marks new snow with ([`Verdict::new_snow`]) until the shading test.
const NEW_SNOW: u8 = 128;

/// MSK bit the pass marks the pixels the L1 stereo measured at the ground with
/// ([`StereoSeen::Ground`]) until the cloud cells are counted.
const GROUND: u8 = 64;

/// Cell of the grid clouds are dilated and cast on, metres.
pub const MASK_CELL_M: f64 = 20.0;

/// The masks of one scene, full resolution, in a temporary file: per row, its CLD bytes then
/// its MSK bytes.
pub struct Masks {
    file: std::fs::File,
    cols: usize,
    /// Percentages of the seen pixels: cloudy (tests, not the extension), snowy, water.
    pub cloud_percentage: f64,
    pub snow_percentage: f64,
    pub water_percentage: f64,
}

/// The masks of some rows, row-major.
pub struct MaskRows {
    /// CLD bits ([`bits`]`::CLD_*`), summaries included.
    pub cld: Vec<u8>,
    /// MSK bits the mask pass sets: water ([`bits::MSK_WAT`]) and snow ([`bits::MSK_SNW`]).
    pub msk: Vec<u8>,
}

impl MaskRows {
    /// Whether pixel `k` is cloud (a test or the extension).
    pub fn cloud(&self, k: usize) -> bool {
        self.cld[k] & bits::CLD_ALL_CLOUDS != 0
    }

    /// Whether pixel `k` may serve the aerosol and water-vapour estimates: no cloud, cloud
    /// extension or shadow, no snow, no water.
    pub fn clean(&self, k: usize) -> bool {
        self.cld[k] == 0 && self.msk[k] & (bits::MSK_WAT | bits::MSK_SNW) == 0
    }
}

/// An I/O failure of the masks' temporary file (in the temporary directory).
fn failed(e: std::io::Error) -> VipError {
    VipError::output(
        std::env::temp_dir(),
        format!("the masks' temporary file: {e}"),
    )
}

impl Masks {
    /// Writes the scene's masks (row-major, `cols` wide) to a temporary file.
    fn spill(cld: &[u8], msk: &[u8], cols: usize) -> Result<std::fs::File> {
        use std::io::Write;
        let file = tempfile::tempfile().map_err(failed)?;
        let mut out = std::io::BufWriter::new(file);
        for (cld, msk) in cld.chunks(cols).zip(msk.chunks(cols)) {
            out.write_all(cld).map_err(failed)?;
            out.write_all(msk).map_err(failed)?;
        }
        out.into_inner().map_err(|e| failed(e.into_error()))
    }

    /// The masks of rows `rows`.
    pub fn rows(&self, rows: std::ops::Range<usize>) -> Result<MaskRows> {
        use std::os::unix::fs::FileExt;
        let cols = self.cols;
        let mut both = vec![0u8; 2 * rows.len() * cols];
        self.file
            .read_exact_at(&mut both, (2 * rows.start * cols) as u64)
            .map_err(failed)?;
        let (mut cld, mut msk) = (
            Vec::with_capacity(rows.len() * cols),
            Vec::with_capacity(rows.len() * cols),
        );
        for row in both.chunks(2 * cols) {
            cld.extend_from_slice(&row[..cols]);
            msk.extend_from_slice(&row[cols..]);
        }
        Ok(MaskRows { cld, msk })
    }
}

/// Everything the mask pass reads.
pub struct MaskJob<'a> {
    pub l1c: &'a L1c,
    pub site: &'a Site,
    pub dem: &'a Dem,
    /// The coarse grid and, per band and cell, the terms at zero aerosol (Rayleigh); the sun
    /// direction (unit vector east, north, up) per cell.
    pub grid: Grid,
    pub rayleigh: &'a [Vec<PixelTerms>],
    pub sun: &'a [[f64; 3]],
    pub params: &'a CloudParams,
    pub sol: &'a DirectionGrid,
    /// Viewing directions of the blue band's detector (where the L1C shows the clouds).
    pub view: &'a DirectionGrid,
    /// The L1 stereo cloud altitude (CLA annex, at the clouds' vertical footprints), when the
    /// L1C has one (the L1 CLD band, [`StereoSeen::from_band`], comes with the strips).
    pub altitude: Option<&'a CloudAltitude>,
    /// The header of the site's history (whose composite the variation test compares with),
    /// and the date.
    pub history: Option<&'a context::Header>,
    pub date: NaiveDate,
}

/// Per band and coarse cell, the terms of a Rayleigh-only atmosphere (AOT 0, water vapour
/// `wv`) at the cell centre's DEM height.
pub fn rayleigh_terms(
    geometry: &[CellGeometry],
    luts: &[&BandLuts],
    site: &Site,
    grid: Grid,
    dem: &Dem,
    wv: f64,
    alt_range: (f64, f64),
) -> Vec<Vec<PixelTerms>> {
    (0..NB)
        .into_par_iter()
        .map(|b| {
            (0..grid.cells())
                .map(|i| {
                    let (r, c) = (i / grid.cols, i % grid.cols);
                    let (e, n) = site.pixel_centre(grid.centre(r) - 0.5, grid.centre(c) - 0.5);
                    let h = dem.height(e, n).clamp(alt_range.0, alt_range.1);
                    let k = geometry[i].conditions(b, 0.0, wv, h);
                    PixelTerms::from(&luts[b].terms(&k))
                })
                .collect()
        })
        .collect()
}

/// One bit per pixel (a whole-scene mask at an eighth of a byte).
struct Bits(Vec<u64>);

/// Cell rows the shadow search works on at a time: a multiple of 64, so that a band is a
/// whole number of 64-pixel words of the shadow bits whatever the cell size and the width.
const SHADOW_BAND: usize = 64;

/// The viewing directions of the mask cells of a band of cell rows, for the shadow search: a
/// cell outside the band is computed afresh (`at`, the same function, so the same value).
struct ViewRows {
    cols: usize,
    first: usize,
    data: Vec<(f64, f64)>,
}

impl ViewRows {
    fn new(cols: usize) -> ViewRows {
        ViewRows {
            cols,
            first: 0,
            data: Vec::new(),
        }
    }

    /// Holds cell rows `rows`: the rows held already are kept when the new band starts within
    /// them (the search going down the scene), else everything is computed afresh.
    fn cover(&mut self, rows: std::ops::Range<usize>, at: &(dyn Fn(usize) -> (f64, f64) + Sync)) {
        let held = self.first..self.first + self.data.len() / self.cols;
        let keep = rows.start.max(held.start)..rows.end.min(held.end);
        let from = if keep.is_empty() || keep.start > rows.start {
            self.data.clear();
            rows.start
        } else {
            self.data.drain(..(keep.start - held.start) * self.cols);
            self.data.truncate(keep.len() * self.cols);
            keep.end
        };
        let cols = self.cols;
        self.data.par_extend(
            (from * cols..rows.end * cols)
                .into_par_iter()
                .with_min_len(256)
                .map(at),
        );
        self.first = rows.start;
    }

    /// The viewing direction of cell `i` (row-major index in the whole grid).
    fn get(&self, i: usize, at: &dyn Fn(usize) -> (f64, f64)) -> (f64, f64) {
        match i.checked_sub(self.first * self.cols) {
            Some(k) if k < self.data.len() => self.data[k],
            _ => at(i),
        }
    }
}

impl Bits {
    fn get(&self, k: usize) -> bool {
        self.0[k / 64] >> (k % 64) & 1 == 1
    }
}

/// What the pass counts per mask cell.
#[derive(Debug, Clone, Copy, Default)]
struct CellCount {
    seen: u32,
    /// Pixels the snow test passed, and their sums of (direct illumination of the slope,
    /// blue RCR) for the shading test.
    snow: Shading,
}

/// Sums for the correlation between the illumination a slope gets from the sun and the
/// reflectance seen there.
#[derive(Debug, Clone, Copy)]
struct Shading {
    n: u32,
    x: f64,
    y: f64,
    xx: f64,
    yy: f64,
    xy: f64,
    /// Lowest blue RCR of every seen pixel.
    darkest: f64,
}

impl Default for Shading {
    fn default() -> Self {
        Shading {
            n: 0,
            x: 0.0,
            y: 0.0,
            xx: 0.0,
            yy: 0.0,
            xy: 0.0,
            darkest: f64::INFINITY,
        }
    }
}

impl Shading {
    fn add(&mut self, x: f64, y: f64) {
        self.n += 1;
        self.x += x;
        self.y += y;
        self.xx += x * x;
        self.yy += y * y;
        self.xy += x * y;
    }

    fn merge(&mut self, o: &Shading) {
        self.n += o.n;
        self.x += o.x;
        self.y += o.y;
        self.xx += o.xx;
        self.yy += o.yy;
        self.xy += o.xy;
        self.darkest = self.darkest.min(o.darkest);
    }

    /// Whether the terrain's shading is missing: enough pixels over slopes lit differently
    /// enough, and their reflectance does not follow the light. `None`: cannot tell.
    fn unlit(&self) -> Option<bool> {
        if (self.n as usize) < SHADING_MIN_PIXELS {
            return None;
        }
        let n = f64::from(self.n);
        let vx = self.xx / n - (self.x / n).powi(2);
        let vy = self.yy / n - (self.y / n).powi(2);
        let cov = self.xy / n - self.x * self.y / (n * n);
        let varied = vx >= SHADING_MIN_STD * SHADING_MIN_STD;
        let follows = vy > 1e-12
            && cov / (vx * vy).sqrt() >= SHADING_MIN_CORRELATION
            && cov / vx >= SHADING_MIN_GAIN;
        if self.darkest > SHADING_DARKEST_MAX && !(varied && follows) {
            return Some(true);
        }
        varied.then_some(!follows)
    }
}

/// What one row of the pass gives.
struct RowMasks {
    cld: Vec<u8>,
    msk: Vec<u8>,
    /// Per mask cell of the row.
    cells: Vec<CellCount>,
    /// The row's sums for the correlation test, per mask cell.
    texture: Texture,
}

impl MaskJob<'_> {
    /// The composite of pixel `k` of a context strip of `n` pixels as RCR under today's
    /// `light` ([`slope_light`]), and its age in days.
    fn composite(
        &self,
        strip: &ContextStrip,
        (k, n): (usize, usize),
        light: &[f64; NB],
    ) -> Option<([f64; NB], f64)> {
        let header = self.history?;
        let date = header.pxd_date(strip.pxd[k])?;
        let mut rcr = [0.0; NB];
        for (b, v) in rcr.iter_mut().enumerate() {
            let x = strip.rcr[b * n + k];
            if x == context::REFLECTANCE_NODATA {
                return None;
            }
            *v = f64::from(x) * context::REFLECTANCE_QUANTIFICATION * light[b];
        }
        Some((rcr, (self.date - date).num_days().abs() as f64))
    }

    fn row(
        &self,
        r: usize,
        (px, terrain, columns, i, n): (&[i16], &StripTerrain, &CellColumns, usize, usize),
        history: Option<&ContextStrip>,
        fm: usize,
    ) -> RowMasks {
        let cols = self.l1c.site.cols;
        let g = self.grid;
        let mut out = RowMasks {
            cld: vec![0; cols],
            msk: vec![0; cols],
            cells: vec![CellCount::default(); cols.div_ceil(fm)],
            texture: Texture::new(1, cols.div_ceil(fm), self.texture_planes()),
        };
        let terrain = terrain.row(r);
        let cell_row = g.cell_row(r) * g.cols;
        for (c, &(cell_col, mc)) in columns.iter().enumerate() {
            let k = i * cols + c;
            let (toa, _) = seen_toa(px, k, n, self.l1c);
            let Some(toa) = toa else { continue };
            let cell = cell_row + cell_col;
            let rcr: [f64; NB] = std::array::from_fn(|b| self.rayleigh[b][cell].uniform(toa[b]));
            // the L1 mask covers a cloud wherever any band sees it
            let l1_mask = px[(l1c::CLD_BAND - 1) * n + k].clamp(0, 255) as u8;
            let stereo = StereoSeen::from_band(l1_mask);
            let normal = terrain.normal(c);
            let slope = (1.0 - normal[2] * normal[2]).max(0.0).sqrt() / normal[2];
            let sun = Slope::new(normal, self.sun[cell]);
            let light = pixel_light(self.rayleigh, cell, &sun);
            let lit: [f64; NB] = std::array::from_fn(|b| rcr[b] / light[b]);
            let before = history.and_then(|h| self.composite(h, (k, n), &light));
            let composite = before.as_ref().map(|(rcr, age)| Composite {
                rcr,
                age_days: *age,
            });
            let v: Verdict = self.params.classify(&rcr, &lit, composite, stereo, slope);
            // the correlation test's sums: the detections of the spectral tests, and the pixels
            // no test flagged, neither snow nor water, which show the ground's change
            let flagged = v.cld & SPECTRAL != 0;
            let clean = v.cld == 0 && !v.snow && !v.water;
            if let (Some(h), true) = (history, flagged || clean) {
                let b = self.params.correl;
                let today = rcr[b];
                let composite = h.rcr[b * n + k];
                let stack = (0..h.stack_planes()).map(|p| h.sto[p * n + k]);
                for (p, v) in std::iter::once(composite).chain(stack).enumerate() {
                    if v != context::REFLECTANCE_NODATA {
                        let before = f64::from(v) * context::REFLECTANCE_QUANTIFICATION * light[b];
                        out.texture.add(mc, p, flagged, today, before);
                    }
                }
            }
            out.cld[c] = v.cld;
            if v.snow {
                out.msk[c] |= bits::MSK_SNW;
            }
            if v.new_snow {
                out.msk[c] |= NEW_SNOW;
            }
            if v.water {
                out.msk[c] |= bits::MSK_WAT;
            }
            if stereo == StereoSeen::Ground {
                out.msk[c] |= GROUND;
            }
            let acc = &mut out.cells[mc];
            if v.snow {
                let b = self.params.blue;
                acc.snow.add(self.rayleigh[b][cell].direct(&sun), rcr[b]);
            }
            acc.seen += 1;
            acc.snow.darkest = acc.snow.darkest.min(rcr[self.params.blue]);
        }
        out
    }

    /// Planes of the correlation test: the composite and each stacked date (none without a
    /// history).
    fn texture_planes(&self) -> usize {
        self.history.map_or(0, |h| 1 + h.stack_dates.len())
    }

    /// Runs the pass over `image` (the L1C image).
    pub fn run(
        &self,
        image: &gdal::Dataset,
        history: Option<&Context>,
        opts: &Options,
    ) -> Result<Masks> {
        let (lines, cols) = (self.l1c.site.lines, self.l1c.site.cols);
        let fm = (MASK_CELL_M / self.l1c.site.pixel_m).round().max(1.0) as usize;
        let cells = Grid::new(lines, cols, fm);
        let mut cld = vec![0u8; lines * cols];
        let mut msk = vec![0u8; lines * cols];
        // per mask cell the pixels seen; the snow's shading sums go to blocks of
        // SHADING_BLOCK_M as soon as a row of cells is complete (cells in index order, as a
        // fold over the whole grid would add them), so only the rows in work are held
        let mut cell_seen = vec![0u32; cells.cells()];
        let fb = (SHADING_BLOCK_M / MASK_CELL_M).round().max(1.0) as usize;
        let blocks = Grid::new(cells.rows, cells.cols, fb);
        let block_of_cell = |i: usize| (i / cells.cols / fb) * blocks.cols + (i % cells.cols) / fb;
        let mut shading = vec![Shading::default(); blocks.cells()];
        let mut pending: std::collections::VecDeque<Vec<Shading>> = Default::default();
        let mut first_pending = 0;
        let mut texture = Texture::new(cells.rows, cells.cols, self.texture_planes());
        let bar = progress(lines as u64, "L2 masks");
        let per_pixel = 15 * 2 * 2 + ContextStrip::bytes_per_pixel(self.params.n_stack);
        // held beside the strips: CLD and MSK (a byte each per pixel), the DEM
        let held = 2 * (lines * cols) as u64 + self.dem.bytes();
        let ram = raster::budget_beside(opts.ram_bytes, held);
        let mut px = Vec::new();
        let columns: Vec<(usize, usize)> =
            (0..cols).map(|c| (self.grid.cell_col(c), c / fm)).collect();
        for win in Strips::for_budget(lines, cols, ram, per_pixel) {
            let n = win.rows * cols;
            read_strip(image, cols, &win, &mut px)?;
            let terrain = StripTerrain::new(self.dem, self.site, &win);
            let history = match history {
                Some(c) => Some(c.read_strip(win.row..win.end())?),
                None => None,
            };
            let rows: Vec<RowMasks> = (0..win.rows)
                .into_par_iter()
                .map(|i| {
                    let at = (&px[..], &terrain, &columns[..], i, n);
                    self.row(win.row + i, at, history.as_ref(), fm)
                })
                .collect();
            for (i, row) in rows.into_iter().enumerate() {
                let r = win.row + i;
                cld[r * cols..(r + 1) * cols].copy_from_slice(&row.cld);
                msk[r * cols..(r + 1) * cols].copy_from_slice(&row.msk);
                let cr = r / fm;
                while first_pending + pending.len() <= cr {
                    pending.push_back(vec![Shading::default(); cells.cols]);
                }
                for (cc, cell) in row.cells.iter().enumerate() {
                    cell_seen[cr * cells.cols + cc] += cell.seen;
                    pending[cr - first_pending][cc].merge(&cell.snow);
                }
                texture.merge_row(r / fm, &row.texture);
            }
            let complete = match win.end() == lines {
                true => cells.rows,
                false => win.end() / fm,
            };
            while first_pending < complete {
                let Some(row) = pending.pop_front() else {
                    break;
                };
                for (cc, s) in row.iter().enumerate() {
                    shading[block_of_cell(first_pending * cells.cols + cc)].merge(s);
                }
                first_pending += 1;
            }
            bar.inc(win.rows as u64);
        }
        bar.finish_and_clear();

        // the shading test: "snow" in blocks where the relief's shading is missing is cloud;
        // per block: the shading shows (Some(false)), is missing (Some(true)), or cannot tell;
        // snow in blocks without shading is cloud, new snow needs the shading to show
        let unlit: Vec<Option<bool>> = shading.iter().map(Shading::unlit).collect();
        let block_of = |r: usize, c: usize| block_of_cell((r / fm) * cells.cols + c / fm);
        let cloud_snow = |m: u8, block: usize| {
            m & bits::MSK_SNW != 0
                && (unlit[block] == Some(true) || (m & NEW_SNOW != 0 && unlit[block].is_none()))
        };
        // the correlation test clears what the spectral tests flagged where the ground's
        // pattern shows as before (not the shading test's clouds over snow, whose texture
        // does show through)
        let p = self.params;
        let block = (L2COMM_COARSE_M / MASK_CELL_M).round().max(1.0) as usize;
        let blocks_c = Grid::new(cells.rows, cells.cols, block);
        let coarse_of_cell =
            |i: usize| (i / cells.cols / block) * blocks_c.cols + (i % cells.cols) / block;
        let surface_change = texture.surface_change(&TextureTest {
            block,
            reach: (p.correl_half_m / MASK_CELL_M).round() as usize,
            min_pixels: (fm * fm / 2) as f64,
            min_cells: p.correl_min_cells,
            threshold: p.correl_threshold,
            tolerance: p.var_blue_min,
        });
        // per row, the pixels of each cell that make it a cloud cell (the cells the extension
        // grows from and the shadows are cast by): cloudy by a test, unless the L1 stereo
        // measured a bright ground there (a surface change, partial snow or a thin veil the
        // ground shows through: 95 % of the variation test's false alarms on the alpine series,
        // none of its clouds thicker than 1), or cloud by the shading test
        // (a row of cells at a time: per image row, the counts would be a 16th of a word per
        // pixel of the scene)
        let cloudy: Vec<u32> = cld
            .par_chunks_mut(cols * fm)
            .zip(msk.par_chunks_mut(cols * fm))
            .enumerate()
            .flat_map_iter(|(cr, (cld, msk))| {
                let mut n = vec![0u32; cells.cols];
                for (i, (cld, msk)) in cld.chunks_mut(cols).zip(msk.chunks_mut(cols)).enumerate() {
                    let r = cr * fm + i;
                    for c in 0..cols {
                        if surface_change[cr * cells.cols + c / fm] {
                            cld[c] &= !SPECTRAL;
                        }
                        let shading = cloud_snow(msk[c], block_of(r, c));
                        if shading {
                            msk[c] &= !bits::MSK_SNW;
                            cld[c] |= if msk[c] & NEW_SNOW != 0 {
                                bits::CLD_REFL_VAR
                            } else {
                                bits::CLD_REFL
                            };
                        }
                        let ground = msk[c] & GROUND != 0;
                        msk[c] &= !(NEW_SNOW | GROUND);
                        if cld[c] & TESTS != 0 && (shading || !ground) {
                            n[c / fm] += 1;
                        }
                    }
                }
                n
            })
            .collect();
        let mut cloud_cells = CellMask::new(cells.rows, cells.cols);
        for ((m, &k), &n) in cloud_cells.data.iter_mut().zip(&cell_seen).zip(&cloudy) {
            *m = k > 0 && 2 * n >= k;
        }
        // the extension grows, as MAJA's, from the cloud at its coarse resolution (blocks of
        // 100 m at least half cloudy): a lone 20 m cell would otherwise flag 300 times its
        // area
        let mut block_cloudy = vec![(0u32, 0u32); blocks_c.cells()];
        for (i, (&k, &n)) in cell_seen.iter().zip(&cloudy).enumerate() {
            let b = &mut block_cloudy[coarse_of_cell(i)];
            b.0 += k;
            b.1 += n;
        }
        let mut seeds = CellMask::new(cells.rows, cells.cols);
        for (i, m) in seeds.data.iter_mut().enumerate() {
            let (seen, n) = block_cloudy[coarse_of_cell(i)];
            *m = cloud_cells.data[i] && seen > 0 && 2 * n >= seen;
        }
        let extension = seeds.dilated(self.params.dilation_m / MASK_CELL_M);
        let shadows = self.shadows(&cloud_cells, cells, &cld);
        let (seen, cloudy, snowy, water) = (0..lines * cols)
            .into_par_iter()
            .with_min_len(4096)
            .map(|k| {
                let (r, c) = (k / cols, k % cols);
                let cell = (r / fm) * cells.cols + c / fm;
                let tests = cld[k] & TESTS;
                let seen = cell_seen[cell] > 0;
                (
                    u64::from(seen),
                    u64::from(tests != 0),
                    u64::from(msk[k] & bits::MSK_SNW != 0),
                    u64::from(msk[k] & bits::MSK_WAT != 0),
                )
            })
            .reduce(
                || (0, 0, 0, 0),
                |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2, a.3 + b.3),
            );
        cld.par_chunks_mut(cols)
            .zip(msk.par_chunks_mut(cols))
            .enumerate()
            .for_each(|(r, (cld, msk))| {
                for c in 0..cols {
                    let cell = (r / fm) * cells.cols + c / fm;
                    let mut v = cld[c];
                    if v == 0 && extension.data[cell] {
                        v |= bits::CLD_EXTENSION;
                    }
                    if shadows.get(r * cols + c) {
                        v |= bits::CLD_SHADOWS;
                    }
                    if v & !(bits::CLD_SHADOWS | bits::CLD_SHADVAR) != 0 {
                        v |= bits::CLD_ALL_CLOUDS;
                        msk[c] &= !(bits::MSK_WAT | bits::MSK_SNW);
                    }
                    if v != 0 {
                        v |= bits::CLD_ALL;
                    }
                    cld[c] = v;
                }
            });
        let pct = |x: u64| {
            if seen == 0 {
                0.0
            } else {
                100.0 * x as f64 / seen as f64
            }
        };
        Ok(Masks {
            file: Masks::spill(&cld, &msk, cols)?,
            cols,
            cloud_percentage: pct(cloudy),
            snow_percentage: pct(snowy),
            water_percentage: pct(water),
        })
    }

    /// Pixels in cloud shadow ([`Shadows`]), searched first on the mask cells, then pixel by
    /// pixel in and around the shadowed cells. The masks show each cloud where the blue band
    /// sees it, displaced from its vertical footprint by its height times the band's viewing
    /// direction; the search looks for it there. Clouds the L1 stereo measured lie at their
    /// altitude (CLA annex, at their footprints). The others lie at one height above the
    /// ground: the median height of the stereo clouds when there are some (the L1 stereo
    /// works on a 20 m grid and misses parts of the clouds the reflectance tests find), else
    /// [`CloudParams::default_altitude`]. `tests` holds the cloud-test bits of every pixel.
    fn shadows(&self, clouds: &CellMask, cells: Grid, tests: &[u8]) -> Bits {
        let p = self.params;
        let l1c = self.l1c;
        let (lines, cols) = (l1c.site.lines, l1c.site.cols);
        let (ulx, uly) = (l1c.site.ulx, l1c.site.uly);
        let direction = |g: &DirectionGrid, e: f64, n: f64| {
            g.angles(e, n)
                .map(|(z, a)| angles_to_grid(z, a))
                .unwrap_or((0.0, 0.0))
        };
        let f = cells.f;
        let cell_centre = |i: usize| ((i / cells.cols) * f + f / 2, (i % cells.cols) * f + f / 2);
        let stereo_at =
            |r: usize, c: usize| self.altitude.map_or(0.0, |a| f64::from(a.at_pixel(r, c)));
        // one altitude per cloud: the median of its stereo cells. A cloud the stereo measured
        // nowhere casts no shadow: its altitude would be a guess, and on the alpine series
        // such "clouds" (snow the shading test could not confirm) put their shadows on lit
        // ground; every cloud bright enough to cast a shadow has a parallax the stereo sees
        let (label, n_labels) = clouds.labels();
        let mut stereo: Vec<Vec<f64>> = vec![Vec::new(); n_labels];
        // whether the cloud holds a pixel of the casting tests: the others (cirrus, veils
        // found by their history) cast no shadow the search could find, and following the
        // sun ray up to them cost a fifth of the L2 on a scene with cirrus
        let mut casts = vec![false; n_labels];
        for i in 0..cells.cells() {
            let Some(&l) = label.get(i).filter(|&&l| l != u32::MAX) else {
                continue;
            };
            let (r, c) = cell_centre(i);
            let (r, c) = (r.min(lines - 1), c.min(cols - 1));
            let a = stereo_at(r, c);
            if a > 0.0 {
                stereo[l as usize].push(a);
            }
            let (r0, c0) = ((i / cells.cols) * f, (i % cells.cols) * f);
            casts[l as usize] |= (r0..(r0 + f).min(lines)).any(|rr| {
                tests[rr * cols + c0..rr * cols + (c0 + f).min(cols)]
                    .iter()
                    .any(|&v| v & CASTING != 0)
            });
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let object_altitude: Vec<Option<f64>> = stereo
            .iter_mut()
            .zip(&casts)
            .map(|(s, &casts)| (casts && !s.is_empty()).then(|| median(s)))
            .collect();
        let tolerance = SHADOW_STEP_M / 2.0;
        let (lo, hi) = object_altitude
            .iter()
            .flatten()
            .fold((f64::MAX, f64::MIN), |(lo, hi), &a| (lo.min(a), hi.max(a)));
        if lo > hi {
            return Bits(vec![0; (lines * cols).div_ceil(64)]);
        }
        // pixel (fractional) position of a map point
        let position =
            |e: f64, n: f64| ((uly - n) / l1c.site.pixel_m, (e - ulx) / l1c.site.pixel_m);
        let inside = |r: f64, c: f64| r >= 0.0 && c >= 0.0 && r < lines as f64 && c < cols as f64;
        let altitude_of = |r: usize, c: usize| {
            let l = label[(r / f) * cells.cols + c / f];
            (l != u32::MAX)
                .then(|| object_altitude[l as usize])
                .flatten()
        };
        // the L1C shows a cloud at altitude z over (E, N) displaced by −(z − h)·v, the viewing
        // direction taken at the centre of the mask cell of (E, N) (it turns by thousandths of
        // a degree over 20 m; the ray search asks for it at every step), held for the band of
        // cell rows the search is in and as far as its rays reach
        let view_at = |i: usize| {
            let (r, c) = cell_centre(i);
            let (e, n) = self.site.pixel_centre(r as f64 - 0.5, c as f64 - 0.5);
            direction(self.view, e, n)
        };
        let apparent = |view: &ViewRows, e: f64, n: f64, z: f64| {
            let (r, c) = position(e, n);
            let cell = |x: f64, size: usize| ((x.max(0.0) as usize) / f).min(size - 1);
            let (vx, vy) = view.get(
                cell(r, cells.rows) * cells.cols + cell(c, cells.cols),
                &view_at,
            );
            let dz = z - self.dem.height(e, n);
            position(e - dz * vx, n - dz * vy)
        };
        let cell_cloud = |view: &ViewRows, e: f64, n: f64, z: f64| -> Option<f64> {
            let (r, c) = apparent(view, e, n, z);
            if !inside(r, c) {
                return None;
            }
            let (r, c) = (r as usize, c as usize);
            let i = (r / f) * cells.cols + c / f;
            if clouds.data[i] {
                altitude_of(r, c)
            } else {
                None
            }
        };
        let pixel_cloud = |view: &ViewRows, e: f64, n: f64, z: f64| -> Option<f64> {
            let (r, c) = apparent(view, e, n, z);
            if !inside(r, c) {
                return None;
            }
            let (r, c) = (r as usize, c as usize);
            if tests[r * cols + c] & CASTING != 0 {
                // a cloud pixel in a cell below half cloudy: its neighbour cells' cloud
                altitude_of(r, c).or_else(|| {
                    let (cr, cc) = ((r / f) as isize, (c / f) as isize);
                    (-1..=1)
                        .flat_map(|dr| (-1..=1).map(move |dc| (cr + dr, cc + dc)))
                        .filter(|&(a, b)| {
                            a >= 0
                                && b >= 0
                                && (a as usize) < cells.rows
                                && (b as usize) < cells.cols
                        })
                        .find_map(|(a, b)| {
                            let l = label[a as usize * cells.cols + b as usize];
                            (l != u32::MAX)
                                .then(|| object_altitude[l as usize])
                                .flatten()
                        })
                })
            } else {
                None
            }
        };
        let height = |e: f64, n: f64| self.dem.height(e, n);
        let sun = |e: f64, n: f64| direction(self.sol, e, n);
        let finder = Shadows {
            height: &height,
            sun: &sun,
            altitudes: (
                lo - tolerance,
                (hi + tolerance).min(p.max_altitude + tolerance),
            ),
            step: SHADOW_STEP_M,
            tolerance,
            levels: {
                let mut l: Vec<f64> = object_altitude.iter().flatten().copied().collect();
                l.sort_by(f64::total_cmp);
                l.dedup();
                l
            },
        };
        // how many cell rows a ray reaches from its ground point: up to the highest altitude
        // from the lowest ground, along the longest sun direction of the grid (a cell beyond
        // the band held is computed afresh, the same value: this only sizes the band)
        let longest = |g: &DirectionGrid| {
            g.dx.iter()
                .zip(&g.dy)
                .map(|(x, y)| x.hypot(*y))
                .filter(|v| v.is_finite())
                .fold(0.0, f64::max)
        };
        let rise = finder.altitudes.1 - self.dem.statistics().0;
        let cell_m = f as f64 * l1c.site.pixel_m;
        let reach = ((rise.max(0.0) * longest(self.sol) * 1.01) / cell_m).ceil() as usize + 2;
        let band_rows = |band: usize| band..(band + SHADOW_BAND).min(cells.rows);
        let mut view = ViewRows::new(cells.cols);
        let mut coarse = vec![false; cells.cells()];
        for band in (0..cells.rows).step_by(SHADOW_BAND) {
            let rows = band_rows(band);
            view.cover(
                rows.start.saturating_sub(reach)..(rows.end + reach).min(cells.rows),
                &view_at,
            );
            coarse[rows.start * cells.cols..rows.end * cells.cols]
                .par_iter_mut()
                .with_min_len(256)
                .enumerate()
                .for_each(|(j, v)| {
                    let (r, c) = cell_centre(rows.start * cells.cols + j);
                    let (e, n) = self.site.pixel_centre(r as f64 - 0.5, c as f64 - 0.5);
                    *v = finder.shadowed(e, n, &|e, n, z| cell_cloud(&view, e, n, z));
                });
        }
        let near = CellMask {
            rows: cells.rows,
            cols: cells.cols,
            data: coarse,
        }
        .dilated(1.5);
        let n = lines * cols;
        let mut shadow = Bits(Vec::with_capacity(n.div_ceil(64)));
        // bands of 64 cell rows: a whole number of 64-pixel words
        for band in (0..cells.rows).step_by(SHADOW_BAND) {
            let rows = band_rows(band);
            view.cover(
                rows.start.saturating_sub(reach)..(rows.end + reach).min(cells.rows),
                &view_at,
            );
            let shadowed = |k: usize| {
                let (r, c) = (k / cols, k % cols);
                if tests[k] & TESTS != 0 || !near.data[(r / f) * cells.cols + c / f] {
                    return false;
                }
                let (e, n) = self.site.pixel_centre(r as f64, c as f64);
                finder.shadowed(e, n, &|e, n, z| pixel_cloud(&view, e, n, z))
            };
            let pixels = (rows.start * f * cols).min(n)..(rows.end * f * cols).min(n);
            shadow.0.par_extend(
                (pixels.start / 64..pixels.end.div_ceil(64))
                    .into_par_iter()
                    .with_min_len(64)
                    .map(|w| {
                        (w * 64..(w * 64 + 64).min(n))
                            .filter(|&k| shadowed(k))
                            .fold(0u64, |v, k| v | 1 << (k % 64))
                    }),
            );
        }
        log::debug!(
            "shadows: {n_labels} clouds, those with a stereo altitude at {lo:.0}–{hi:.0} m; {} pixels shadowed",
            shadow.0.iter().map(|w| w.count_ones()).sum::<u32>()
        );
        shadow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The viewing directions held for a band are those computed afresh, band after band
    /// and when the search starts again from the top, and a cell outside the band too.
    #[test]
    fn view_rows_hold_what_is_computed_afresh() {
        let cols = 7;
        let at = |i: usize| (i as f64, -(i as f64) / 3.0);
        let mut view = ViewRows::new(cols);
        for rows in [0..5, 2..9, 8..12, 30..40, 0..3, 1..40] {
            view.cover(rows.clone(), &at);
            assert_eq!(view.data.len(), rows.len() * cols);
            for i in 0..45 * cols {
                assert_eq!(view.get(i, &at), at(i), "cell {i} with rows {rows:?} held");
            }
        }
        // the band held is the band asked for: the cells past it are not in the table
        assert_eq!(view.data[0], at(cols));
    }

    /// The rows read back from the temporary file are those written.
    #[test]
    fn masks_come_back_from_their_file_row_by_row() {
        let (lines, cols) = (7, 5);
        let cld: Vec<u8> = (0..lines * cols).map(|k| k as u8).collect();
        let msk: Vec<u8> = (0..lines * cols).map(|k| 200 - k as u8).collect();
        let masks = Masks {
            file: Masks::spill(&cld, &msk, cols).unwrap(),
            cols,
            cloud_percentage: 0.0,
            snow_percentage: 0.0,
            water_percentage: 0.0,
        };
        let rows = masks.rows(2..5).unwrap();
        assert_eq!(rows.cld, cld[2 * cols..5 * cols]);
        assert_eq!(rows.msk, msk[2 * cols..5 * cols]);
        assert!(masks.rows(6..8).is_err(), "rows past the scene");
    }
}
