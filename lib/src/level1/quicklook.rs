//! The L1 quicklook (`PDTQLK`, a 3-band JPEG) as the CKQLTL GIPP describes it: bands, extract,
//! undersampling and the linear stretch of each colour.
//!
//! Each quicklook pixel is the mean of the valid reflectances of an `Undersampling_Ratio` ×
//! `Undersampling_Ratio` block of the extract (`UL_Index_X`, `UL_Index_Y`, `Nb_Lines_X`,
//! `Nb_Lines_Y`, clipped to the image), accumulated strip by strip while the L1C is written;
//! each colour is stretched linearly from its `Min_Ref` (code 1) to its `Max_Ref` (code 255),
//! and a block without any valid pixel is black (0).

use std::path::Path;

use crate::ee::cloudd::{Ckqltl, Quicklook};
use crate::error::{Result, VipError};
use crate::mission::venus;
use crate::raster::{self, RasterSpec, SampleType};

/// VIP's CKQLTL: one L1 quicklook `L1QLRGB`, method `LINEAR`, the whole image (extract from
/// pixel 1, 1 over 99999 × 99999, clipped), B07, B04, B03 as red, green, blue (the MUSCATE
/// quicklook's bands) stretched from 0 to 0.3, undersampled 20 times (100 m, the ICD's L1
/// quicklook sampling).
pub fn vip_default() -> Ckqltl {
    Ckqltl {
        compute: true,
        font_size: 10,
        l1: vec![Quicklook {
            free_name: "L1QLRGB".into(),
            method: "LINEAR".into(),
            ul_x: 1,
            ul_y: 1,
            nb_x: 99999,
            nb_y: 99999,
            bands: ["B07".into(), "B04".into(), "B03".into()],
            stretch: [(0.0, 0.3); 3],
            undersampling: 20,
        }],
    }
}

/// A quicklook being accumulated.
pub struct QuicklookBuilder {
    /// 0-based band indices of red, green, blue.
    pub bands: [usize; 3],
    pub codes: [String; 3],
    stretch: [(f64, f64); 3],
    /// First pixel (line, column) and size (lines, columns) of the extract.
    origin: (usize, usize),
    size: (usize, usize),
    pub factor: usize,
    /// Quicklook (lines, columns).
    pub shape: (usize, usize),
    sums: Vec<[f64; 3]>,
    counts: Vec<[u32; 3]>,
}

impl QuicklookBuilder {
    /// The first L1 quicklook of `c` (read from `path`) over an image of `lines` × `cols`;
    /// `None` when `Compute_QL` is false.
    pub fn new(c: &Ckqltl, path: &Path, lines: usize, cols: usize) -> Result<Option<Self>> {
        if !c.compute {
            return Ok(None);
        }
        let q = &c.l1[0];
        let bad = |m: String| VipError::bad_input(path, format!("CKQLTL L1_QL {m}"));
        if q.method != "LINEAR" {
            return Err(bad(format!("Method '{}': VIP knows LINEAR only", q.method)));
        }
        let mut bands = [0usize; 3];
        for (b, code) in bands.iter_mut().zip(&q.bands) {
            *b = venus::BANDS
                .iter()
                .position(|x| x.code == code)
                .ok_or_else(|| bad(format!("band '{code}' is not a VENµS band")))?;
        }
        for (lo, hi) in q.stretch {
            if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                return Err(bad(format!("Min_Ref {lo} is not below Max_Ref {hi}")));
            }
        }
        if q.undersampling == 0 || q.ul_x == 0 || q.ul_y == 0 || q.nb_x == 0 || q.nb_y == 0 {
            return Err(bad(
                "UL_Index, Nb_Lines and Undersampling_Ratio must be positive".into(),
            ));
        }
        let origin = ((q.ul_y - 1) as usize, (q.ul_x - 1) as usize);
        if origin.0 >= lines || origin.1 >= cols {
            return Err(bad(format!(
                "extract starts at pixel {}, {} outside the {cols} × {lines} image",
                q.ul_x, q.ul_y
            )));
        }
        let size = (
            (q.nb_y as usize).min(lines - origin.0),
            (q.nb_x as usize).min(cols - origin.1),
        );
        let factor = q.undersampling as usize;
        let shape = (size.0.div_ceil(factor), size.1.div_ceil(factor));
        Ok(Some(QuicklookBuilder {
            bands,
            codes: q.bands.clone(),
            stretch: q.stretch,
            origin,
            size,
            factor,
            shape,
            sums: vec![[0.0; 3]; shape.0 * shape.1],
            counts: vec![[0; 3]; shape.0 * shape.1],
        }))
    }

    /// Adds colour `k` (0 red, 1 green, 2 blue) of image rows `row0..`, full width, as L1C
    /// counts (`nodata` skipped, `scale` the reflectance of one count).
    pub fn add(
        &mut self,
        k: usize,
        row0: usize,
        cols: usize,
        counts: &[i16],
        nodata: i16,
        scale: f64,
    ) {
        let rows = counts.len() / cols;
        for i in 0..rows {
            let r = row0 + i;
            if r < self.origin.0 || r >= self.origin.0 + self.size.0 {
                continue;
            }
            let qi = (r - self.origin.0) / self.factor;
            let line = &counts[i * cols..(i + 1) * cols];
            for (c, &v) in line
                .iter()
                .enumerate()
                .skip(self.origin.1)
                .take(self.size.1)
            {
                if v == nodata {
                    continue;
                }
                let q = qi * self.shape.1 + (c - self.origin.1) / self.factor;
                self.sums[q][k] += f64::from(v) * scale;
                self.counts[q][k] += 1;
            }
        }
    }

    /// The three 8-bit planes.
    pub fn planes(&self) -> [Vec<u8>; 3] {
        std::array::from_fn(|k| {
            let (lo, hi) = self.stretch[k];
            self.sums
                .iter()
                .zip(&self.counts)
                .map(|(s, n)| {
                    if n[k] == 0 {
                        0
                    } else {
                        let v = s[k] / f64::from(n[k]);
                        (1.0 + 254.0 * ((v - lo) / (hi - lo)).clamp(0.0, 1.0)).round() as u8
                    }
                })
                .collect()
        })
    }

    /// Writes the JPEG at `dst`, through a small staging GeoTIFF `tmp` of the 8-bit planes
    /// (removed afterwards) and the JPEG writer of [`raster::quicklook_jpeg`].
    pub fn write(&self, tmp: &Path, dst: &Path) -> Result<()> {
        let (h, w) = self.shape;
        let spec = RasterSpec::new(w, h, 3, SampleType::U8);
        let mut ds = raster::create_geotiff(tmp, &spec, &[])?;
        for (k, p) in self.planes().iter().enumerate() {
            raster::write_window(&mut ds, k + 1, (0, 0), (w, h), p)?;
        }
        raster::finish(ds, tmp)?;
        let r = raster::quicklook_jpeg(tmp, [1, 2, 3], dst, w.max(h), (1.0, 255.0), Some(0.0));
        let _ = std::fs::remove_file(tmp);
        r
    }
}
