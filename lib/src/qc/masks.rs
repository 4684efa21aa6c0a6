//! The cloud, shadow, snow and water masks of a product, summarised: percentages, clear pixels
//! and the agreement of the header's `Cloud_Percentage` with the mask.
//!
//! Definitions (the processors' own, so that the mask and the header can be compared to their
//! rounding):
//! - **L2A** (`vip-maccs l2`, `level2::clouds::Masks`): a pixel is *seen* when every SRE band
//!   B01…B12 holds a value (not nodata). The percentages are taken over the pixels of the
//!   [`MASK_CELL_M`] mask cells (cells of round(20 m / pixel size) pixels from the top-left
//!   corner) that hold at least one seen pixel. *Cloud* is a cloud test's bit (REFL, REFL_VAR or
//!   ALT: not the extension, not shadows), the definition of the header's `Cloud_Percentage`;
//!   *cloud (all)* the ALL bit (clouds, their extension and shadows); *shadow* SHADOWS or
//!   SHADVAR; *snow* and *water* the MSK bits SNW and WAT.
//! - **L1C** (`vip-l1`): the percentage of pixels whose CLD band is 1 among the pixels every
//!   band B01…B12 sees (no nodata), capped at 100; it has no shadow, snow or water mask.
//!
//! A pixel is *clear* when it is seen, its CLD has no ALL bit (an L1C's CLD is 0), it is not
//! snow or water (MSK) and not an edge (QLT OTH bit EDG).
//!
//! The header's value is written to 0.1 %, so it agrees with the mask within 0.05 % when both
//! follow the definition; the check allows `cloud_percentage_tolerance` (1 % by default).

use rayon::prelude::*;
use serde::Serialize;

use super::input::{Group, Handles, Input, Kind, Layer, Role};
use crate::error::Result;
use crate::product::l2a::bits;
use crate::raster::{self, Strips, Window};

/// Cell of the L2 mask pass, metres (`vip-maccs l2` counts its cloud percentage over the cells
/// of this side that hold a seen pixel).
pub const MASK_CELL_M: f64 = 20.0;

/// CLD bits of the cloud tests: those the header's `Cloud_Percentage` counts.
pub const CLOUD_TESTS: u8 = bits::CLD_REFL | bits::CLD_REFL_VAR | bits::CLD_ALT;

/// The masks of one product, summarised.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MaskSummary {
    /// Pixels of the grid.
    pub pixels: u64,
    /// Pixels seen by every band.
    pub seen_pixels: u64,
    /// Pixels the percentages are taken over (see the module doc: for an L2A, those of the mask
    /// cells holding a seen pixel; for an L1C, the seen pixels).
    pub reference_pixels: u64,
    /// Clear pixels: seen, no cloud bit (ALL), no snow, no water, no edge.
    pub clear_pixels: u64,
    /// Cloud tests' pixels, percent: the header's definition.
    pub cloud_percentage: f64,
    /// The header's `Cloud_Percentage` (null when it declares none).
    pub header_cloud_percentage: Option<f64>,
    /// Pixels with the CLD ALL bit (clouds, their extension, shadows), percent: L2A only.
    pub cloud_all_percentage: Option<f64>,
    /// Cloud shadows (SHADOWS or SHADVAR), percent: L2A only.
    pub shadow_percentage: Option<f64>,
    /// Snow (MSK SNW), percent: L2A only.
    pub snow_percentage: Option<f64>,
    /// Water (MSK WAT), percent: L2A only.
    pub water_percentage: Option<f64>,
}

impl MaskSummary {
    /// Clear pixels, percent of the seen pixels (0 when none is seen).
    pub fn clear_percentage(&self) -> f64 {
        if self.seen_pixels == 0 {
            0.0
        } else {
            100.0 * self.clear_pixels as f64 / self.seen_pixels as f64
        }
    }
}

/// Where the masks of a product's group are.
pub(crate) struct Sources<'a> {
    kind: Kind,
    group: &'a Group,
    /// The bands that must all be seen.
    bands: Vec<&'a Layer>,
    /// Side of the mask cells, pixels (L2A).
    cell: usize,
}

impl<'a> Sources<'a> {
    /// The group the masks qualify.
    pub(crate) fn group(&self) -> &'a Group {
        self.group
    }

    /// The mask sources of `input`, when it is an L2A or an L1C.
    pub(crate) fn of(input: &'a Input) -> Option<Sources<'a>> {
        if !matches!(input.kind, Kind::L2a | Kind::L1c) {
            return None;
        }
        let group = input.groups.iter().find(|g| g.cld.is_some())?;
        let bands = group
            .layers
            .iter()
            .filter(|l| {
                l.role == Role::Reflectance && l.spectral.is_some() && !l.name.starts_with("FRE_")
            })
            .collect();
        let pixel_m = group.geo_transform[1].abs();
        let cell = if pixel_m > 0.0 {
            (MASK_CELL_M / pixel_m).round().max(1.0) as usize
        } else {
            1
        };
        Some(Sources {
            kind: input.kind,
            group,
            bands,
            cell,
        })
    }
}

/// The per-pixel masks of a strip.
pub(crate) struct StripMasks {
    /// Seen by every band.
    pub seen: Vec<bool>,
    pub cld: Vec<u8>,
    /// MSK (zeros for an L1C).
    pub msk: Vec<u8>,
    /// QLT OTH EDG bit (false for an L1C).
    pub edge: Vec<bool>,
}

impl StripMasks {
    /// Whether pixel `k` is clear (module doc).
    pub fn clear(&self, k: usize) -> bool {
        self.seen[k] && self.clear_masks(k)
    }

    /// Whether pixel `k`'s masks say clear (no cloud, snow, water or edge), seen or not.
    pub fn clear_masks(&self, k: usize) -> bool {
        self.cld[k] & bits::CLD_ALL == 0
            && self.msk[k] & (bits::MSK_SNW | bits::MSK_WAT) == 0
            && !self.edge[k]
    }
}

/// Reads band `b` of `path` over `win`, full width.
fn read<T: gdal::raster::GdalType + Copy + Default>(
    h: &mut Handles,
    src: &Option<(std::path::PathBuf, usize)>,
    width: usize,
    win: Window,
) -> Result<Option<Vec<T>>> {
    match src {
        Some((p, b)) => Ok(Some(raster::read_window(
            h.get(p)?,
            *b,
            (0, win.row),
            (width, win.rows),
        )?)),
        None => Ok(None),
    }
}

/// The masks of the rows of `win`; with `seen` false the bands are not read (all seen).
pub(crate) fn read_strip(
    src: &Sources,
    h: &mut Handles,
    win: Window,
    seen: bool,
) -> Result<StripMasks> {
    let g = src.group;
    let n = g.width * win.rows;
    let mut ok = vec![true; n];
    if seen {
        for l in &src.bands {
            let v: Vec<f64> =
                raster::read_window(h.get(&l.path)?, l.band, (0, win.row), (g.width, win.rows))?;
            for (o, x) in ok.iter_mut().zip(&v) {
                *o &= !x.is_nan() && Some(*x) != l.nodata;
            }
        }
    }
    let cld: Vec<u8> = read::<i32>(h, &g.cld, g.width, win)?
        .map(|v| v.into_iter().map(|x| x.clamp(0, 255) as u8).collect())
        .unwrap_or_else(|| vec![0; n]);
    let msk: Vec<u8> = read::<i32>(h, &g.msk, g.width, win)?
        .map(|v| v.into_iter().map(|x| x.clamp(0, 255) as u8).collect())
        .unwrap_or_else(|| vec![0; n]);
    let edge: Vec<bool> = read::<i32>(h, &g.oth, g.width, win)?
        .map(|v| {
            v.into_iter()
                .map(|x| x & i32::from(bits::OTH_EDG) != 0)
                .collect()
        })
        .unwrap_or_else(|| vec![false; n]);
    Ok(StripMasks {
        seen: ok,
        cld,
        msk,
        edge,
    })
}

/// What a strip counts: per mask cell (L2A) or in total (L1C, one cell).
#[derive(Debug, Clone, Default)]
struct Counts {
    /// Per cell: pixels, seen pixels.
    cells: Vec<(u64, u64)>,
    seen: u64,
    clear: u64,
    cloud: u64,
    all: u64,
    shadow: u64,
    snow: u64,
    water: u64,
}

impl Counts {
    fn merge(mut self, o: Counts) -> Counts {
        if self.cells.is_empty() {
            self.cells = o.cells;
        } else {
            for (a, b) in self.cells.iter_mut().zip(o.cells) {
                a.0 += b.0;
                a.1 += b.1;
            }
        }
        self.seen += o.seen;
        self.clear += o.clear;
        self.cloud += o.cloud;
        self.all += o.all;
        self.shadow += o.shadow;
        self.snow += o.snow;
        self.water += o.water;
        self
    }
}

/// The mask summary of `input` (`None` for a product without cloud mask: an L1A, a raster).
pub fn summarise(input: &Input, ram_bytes: u64, threads: usize) -> Result<Option<MaskSummary>> {
    let Some(src) = Sources::of(input) else {
        return Ok(None);
    };
    let g = src.group;
    let l2a = src.kind == Kind::L2a;
    let cell = src.cell;
    let cell_cols = g.width.div_ceil(cell);
    let cells = if l2a {
        g.height.div_ceil(cell) * cell_cols
    } else {
        0
    };
    // 8 bytes per band read at a time, the masks and flags.
    let budget = ram_bytes / threads.max(1) as u64;
    let strips: Vec<Window> = Strips::for_budget(g.height, g.width, budget, 8 + 4 * 3).collect();
    let total = strips
        .par_iter()
        .map_init(Handles::default, |h, &win| -> Result<Counts> {
            let m = read_strip(&src, h, win, true)?;
            let mut c = Counts {
                cells: vec![(0, 0); cells],
                ..Default::default()
            };
            for k in 0..m.seen.len() {
                let (r, col) = (win.row + k / g.width, k % g.width);
                let (seen, cld, msk) = (m.seen[k], m.cld[k], m.msk[k]);
                if l2a {
                    let cc = &mut c.cells[(r / cell) * cell_cols + col / cell];
                    cc.0 += 1;
                    cc.1 += u64::from(seen);
                    c.cloud += u64::from(cld & CLOUD_TESTS != 0);
                } else {
                    c.cloud += u64::from(cld == 1);
                }
                c.seen += u64::from(seen);
                c.clear += u64::from(m.clear(k));
                c.all += u64::from(cld & bits::CLD_ALL != 0);
                c.shadow += u64::from(cld & (bits::CLD_SHADOWS | bits::CLD_SHADVAR) != 0);
                c.snow += u64::from(msk & bits::MSK_SNW != 0);
                c.water += u64::from(msk & bits::MSK_WAT != 0);
            }
            Ok(c)
        })
        .try_reduce(Counts::default, |a, b| Ok(a.merge(b)))?;
    let reference = if l2a {
        total
            .cells
            .iter()
            .filter(|c| c.1 > 0)
            .map(|c| c.0)
            .sum::<u64>()
    } else {
        total.seen
    };
    let pct = |x: u64| {
        if reference == 0 {
            0.0
        } else {
            (100.0 * x as f64 / reference as f64).min(100.0)
        }
    };
    let l2 = |x: u64| l2a.then(|| pct(x));
    Ok(Some(MaskSummary {
        pixels: (g.width * g.height) as u64,
        seen_pixels: total.seen,
        reference_pixels: reference,
        clear_pixels: total.clear,
        cloud_percentage: pct(total.cloud),
        header_cloud_percentage: input.declared_cloud_percentage(),
        cloud_all_percentage: l2(total.all),
        shadow_percentage: l2(total.shadow),
        snow_percentage: l2(total.snow),
        water_percentage: l2(total.water),
    }))
}

/// The summary as a few lines of text.
pub fn text(m: &MaskSummary) -> String {
    let f = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2} %"));
    format!(
        "masks: cloud {:.2} % (header {}), cloud+extension+shadow {}, shadow {}, snow {}, \
         water {}; clear {} of {} seen pixels\n",
        m.cloud_percentage,
        m.header_cloud_percentage
            .map_or("not declared".to_string(), |v| format!("{v:.1} %")),
        f(m.cloud_all_percentage),
        f(m.shadow_percentage),
        f(m.snow_percentage),
        f(m.water_percentage),
        m.clear_pixels,
        m.seen_pixels
    )
}
