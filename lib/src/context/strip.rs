//! Rows of the context in memory, and the update rule from one date to the next.

use chrono::NaiveDate;

use super::header::{
    pxd_code, Grid, Header, Mode, DEFAULT_REFERENCE, PXD_NODATA, REFLECTANCE_NODATA,
};
use crate::error::{Result, VipError};
use crate::geometry::grid::Site;

/// Spectral bands of the composite (RCR), as the L2A SRE.
pub const BANDS: usize = 12;

/// Full-width rows of every plane of a context, each plane row-major over the strip's pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strip {
    /// RCR: composite flat-ground RCR (docs/context.md), [`BANDS`] planes one after the other, int16 ×0.001,
    /// [`REFLECTANCE_NODATA`] where no clear observation is remembered.
    pub rcr: Vec<i16>,
    /// PXD: date of each composite pixel, days since the header's reference date,
    /// [`PXD_NODATA`] where none.
    pub pxd: Vec<i16>,
    /// STO: the correlation-band reflectance of each stack date, one plane per date in the
    /// order of the header's stack dates, [`REFLECTANCE_NODATA`] where that date was not clear.
    pub sto: Vec<i16>,
    /// CLD: the last date's cloud mask (the L2A CLD bits).
    pub cld: Vec<u8>,
    /// CLA: the last date's cloud altitude, metres, 0 where none.
    pub cla: Vec<u16>,
    /// WAM: water history, bit k set when the pixel was water in its (k+1)-th most recent
    /// clear observation (bit 0: the composite's date), over its last 8 clear observations.
    pub wam: Vec<u8>,
}

impl Strip {
    /// A strip of `pixels` pixels and `stack_planes` stack planes that remembers nothing:
    /// reflectances and dates no-data, masks 0.
    pub fn empty(pixels: usize, stack_planes: usize) -> Strip {
        Strip {
            rcr: vec![REFLECTANCE_NODATA; BANDS * pixels],
            pxd: vec![PXD_NODATA; pixels],
            sto: vec![REFLECTANCE_NODATA; stack_planes * pixels],
            cld: vec![0; pixels],
            cla: vec![0; pixels],
            wam: vec![0; pixels],
        }
    }

    /// Pixels per plane.
    pub fn pixels(&self) -> usize {
        self.pxd.len()
    }

    /// Number of STO planes.
    pub fn stack_planes(&self) -> usize {
        self.sto.len().checked_div(self.pixels()).unwrap_or(0)
    }

    /// Band `b` (0-based) of the composite.
    pub fn rcr_band(&self, b: usize) -> &[i16] {
        let n = self.pixels();
        &self.rcr[b * n..(b + 1) * n]
    }

    /// Stack plane `k` (0 = the most recently processed date).
    pub fn sto_plane(&self, k: usize) -> &[i16] {
        let n = self.pixels();
        &self.sto[k * n..(k + 1) * n]
    }

    /// Bytes one pixel costs in a strip with `stack_planes` stack planes, to size strips from
    /// the memory budget (`raster::Strips::for_budget`).
    pub fn bytes_per_pixel(stack_planes: usize) -> usize {
        BANDS * 2 + 2 + 2 * stack_planes + 1 + 2 + 1
    }

    /// An internal error unless every plane has `pixels` pixels and the stack `planes` planes.
    pub(crate) fn check_shape(&self, pixels: usize, planes: usize) -> Result<()> {
        let ok = self.rcr.len() == BANDS * pixels
            && self.pxd.len() == pixels
            && self.sto.len() == planes * pixels
            && self.cld.len() == pixels
            && self.cla.len() == pixels
            && self.wam.len() == pixels;
        if ok {
            Ok(())
        } else {
            Err(VipError::Internal(format!(
                "context strip is not {pixels} pixels with {planes} stack planes"
            )))
        }
    }
}

/// One date's observation of the pixels of a strip, as the L2 has it (every slice row-major
/// over the strip's pixels).
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    /// Flat-ground RCR (as the composite keeps it: docs/context.md), [`BANDS`] planes one
    /// after the other, int16 ×0.001, no-data [`REFLECTANCE_NODATA`].
    pub rcr: &'a [i16],
    /// Whether the pixel is clear (no cloud, shadow, snow or other reason to keep it out of
    /// the composite). A clear pixel with a no-data band counts as not clear.
    pub clear: &'a [bool],
    /// The date's cloud mask (L2A CLD bits).
    pub cld: &'a [u8],
    /// The date's cloud altitude, metres, 0 where none.
    pub cla: &'a [u16],
    /// Whether the pixel is water.
    pub water: &'a [bool],
    /// Reflectance of the correlation band (int16 ×0.001), stored in the stack where clear.
    pub corr: &'a [i16],
}

/// The parameters of the update (L2COMM).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// `Max_Age`: a composite pixel or stack date more than this many days from the new date
    /// is forgotten.
    pub max_age_days: u32,
    /// `Number_Of_Stack_Images`: most stack planes kept (at least 1).
    pub n_stack: usize,
}

/// The update of a context by one date: the new header, and [`Update::apply`] to make each
/// new strip from the old one.
#[derive(Debug, Clone)]
pub struct Update {
    header: Header,
    old_planes: Option<usize>,
    /// Old stack planes kept, in their new order after the new date's plane.
    keep: Vec<usize>,
    date_code: i16,
    max_age: i32,
}

impl Update {
    /// The update of `old` (`None`: a new context) by `date`, on `site`'s grid, made in
    /// `mode`. The stack gets `date` first, then the old dates no more than `max_age_days`
    /// from it (a date equal to `date` is replaced), at most `n_stack` in all. Call
    /// [`Context::check`](super::Context::check) on the old context first.
    pub fn new(
        old: Option<&Header>,
        site: &Site,
        date: NaiveDate,
        mode: Mode,
        rule: &Rule,
    ) -> Result<Update> {
        if rule.n_stack == 0 {
            return Err(VipError::Internal(
                "Number_Of_Stack_Images must be at least 1".into(),
            ));
        }
        let grid = Grid::of(site);
        if let Some(h) = old {
            if h.nick != site.nick || !h.grid.same(&grid) {
                return Err(VipError::Internal(
                    "context of another site or grid given to Update::new".into(),
                ));
            }
        }
        let reference = old.map_or(DEFAULT_REFERENCE, |h| h.reference_date);
        let date_code = pxd_code(reference, date).ok_or_else(|| {
            VipError::Processing(format!(
                "date {date} is more than 32767 days from the context reference {reference}"
            ))
        })?;
        let max_age = i64::from(rule.max_age_days);
        let mut stack_dates = vec![date];
        let mut keep = Vec::new();
        if let Some(h) = old {
            for (k, &d) in h.stack_dates.iter().enumerate() {
                if stack_dates.len() == rule.n_stack {
                    break;
                }
                if d != date && (date - d).num_days().abs() <= max_age {
                    stack_dates.push(d);
                    keep.push(k);
                }
            }
        }
        Ok(Update {
            header: Header {
                nick: site.nick.clone(),
                grid,
                reference_date: reference,
                last_date: date,
                stack_dates,
                mode,
                vip_version: env!("CARGO_PKG_VERSION").to_string(),
            },
            old_planes: old.map(|h| h.stack_dates.len()),
            keep,
            date_code,
            max_age: i32::try_from(max_age).unwrap_or(i32::MAX),
        })
    }

    /// The header of the updated context.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The new strip from the old one (`None` for a new context) and the date's observation
    /// of the same pixels. Per pixel: clear, it becomes the composite (RCR := SRE, PXD := the
    /// date, its water flag enters WAM); otherwise the old composite stays unless it is more
    /// than `max_age_days` from the date, then it is forgotten (no-data, WAM 0). The stack
    /// gets the date's correlation band where clear; CLD and CLA become the date's.
    pub fn apply(&self, old: Option<&Strip>, obs: &Observation) -> Result<Strip> {
        let n = obs.clear.len();
        let obs_ok = obs.rcr.len() == BANDS * n
            && obs.cld.len() == n
            && obs.cla.len() == n
            && obs.water.len() == n
            && obs.corr.len() == n;
        if !obs_ok {
            return Err(VipError::Internal(format!(
                "context observation is not {n} pixels in every plane"
            )));
        }
        match (old, self.old_planes) {
            (Some(s), Some(planes)) => s.check_shape(n, planes)?,
            (None, None) => {}
            _ => {
                return Err(VipError::Internal(
                    "old context strip given without old header or the reverse".into(),
                ))
            }
        }
        let mut new = Strip::empty(n, self.header.stack_dates.len());
        for i in 0..n {
            let clear =
                obs.clear[i] && (0..BANDS).all(|b| obs.rcr[b * n + i] != REFLECTANCE_NODATA);
            if clear {
                for b in 0..BANDS {
                    new.rcr[b * n + i] = obs.rcr[b * n + i];
                }
                new.pxd[i] = self.date_code;
                let before = old.map_or(0, |s| if s.pxd[i] == PXD_NODATA { 0 } else { s.wam[i] });
                new.wam[i] = (before << 1) | u8::from(obs.water[i]);
                new.sto[i] = obs.corr[i];
            } else if let Some(s) = old {
                let d = s.pxd[i];
                let age = (i32::from(self.date_code) - i32::from(d)).abs();
                if d != PXD_NODATA && age <= self.max_age {
                    for b in 0..BANDS {
                        new.rcr[b * n + i] = s.rcr[b * n + i];
                    }
                    new.pxd[i] = d;
                    new.wam[i] = s.wam[i];
                }
            }
        }
        new.cld.copy_from_slice(obs.cld);
        new.cla.copy_from_slice(obs.cla);
        if let Some(s) = old {
            for (j, &k) in self.keep.iter().enumerate() {
                new.sto[(j + 1) * n..(j + 2) * n].copy_from_slice(s.sto_plane(k));
            }
        }
        Ok(new)
    }
}
