//! vip-l1's geometry refined on the site's reference image (GEOVEN's module 1 on B05, as the
//! VENµS centre did): the knowledge error of the auxiliary data found by
//! [`crate::geometry::refine`], set in the flight every band's model is built from, and the
//! quality indexes real L1 headers carry. Without a reference image, or when it gives too
//! few tie points, the product is made unrefined and the log says why.

use super::Inputs;
use crate::error::{Result, VipError};
use crate::geometry::refine::{self, Reference};
use crate::geometry::sensor::BandModel;
use crate::mission::venus;
use crate::product::l1c::QualityIndex;

/// The band correlated with the reference image.
pub const REFINED_BAND: &str = "B05";

/// A refinement done: the reference image's id and the header's quality indexes.
#[derive(Debug, Clone)]
pub struct Refined {
    pub reference: String,
    pub indexes: Vec<QualityIndex>,
}

/// Refines `inp.flight` on `inp.refimg` with `models` (the unrefined ones). A reference image
/// in another CRS than the product, or that does not overlap the image, is bad input naming
/// it.
pub fn refine(inp: &mut Inputs, models: &[BandModel]) -> Result<Option<Refined>> {
    let id = inp.product.global_id();
    let Some(refimg) = inp.refimg.clone() else {
        log::warn!(
            "{id}: no reference image (AUX_REFIMG) of site {} with the auxiliary data: the \
             geometry is not refined",
            inp.product.nick
        );
        return Ok(None);
    };
    let b = venus::BANDS
        .iter()
        .position(|x| x.code == REFINED_BAND)
        .ok_or_else(|| VipError::Internal(format!("no band {REFINED_BAND}")))?;
    let reference = Reference::open(&refimg.image, inp.epsg)?;
    let band = &inp.product.bands[b];
    let (lines, cols) = (band.lines, band.cols);
    let model = &models[b];
    let (_, _, h, _) = inp.dem.statistics();
    let (l, c) = (lines as f64, cols as f64);
    let footprint: Vec<(f64, f64)> = [(0.0, 0.0), (0.0, c), (l, 0.0), (l, c)]
        .iter()
        .map(|&(l, c)| model.ground(l, c, h))
        .collect();
    if !reference.overlaps(&footprint) {
        return Err(VipError::bad_input(
            &refimg.image,
            "the reference image does not overlap the image (another site?)",
        ));
    }
    let raw = |r0: usize, r1: usize| Ok(inp.radiance(b, r0, r1)?.0);
    let found = refine::refine(
        model,
        &inp.flight,
        &reference,
        &raw,
        (lines, cols),
        &inp.dem,
    )?;
    let r = match found {
        Ok(r) => r,
        Err(reason) => {
            log::warn!(
                "{id}: the geometry is not refined on {}: {reason}",
                refimg.id
            );
            return Ok(None);
        }
    };
    let k = r.knowledge;
    let valid = r.points.len();
    log::info!(
        "{id}: refined on {}: attitude biases roll {:.1}, pitch {:.1}, yaw {:.1} µrad, time \
         offset {:.2} ms; {valid} of {} tie points, residual {:.3} px (before the last fit \
         {:.3}), correlation {:.3}",
        refimg.id,
        k.roll_urad,
        k.pitch_urad,
        k.yaw_urad,
        k.time_s * 1e3,
        r.correlated,
        r.residual(),
        r.residual_before,
        r.rate()
    );
    inp.flight.knowledge = k;
    let index = |code: &str, value: String| QualityIndex {
        code: code.into(),
        value,
        band: Some(REFINED_BAND.into()),
    };
    Ok(Some(Refined {
        reference: refimg.id,
        indexes: vec![
            index("IMAGE_RESIDUES_REFIMG", format!("{:.3}", r.residual())),
            index("CORRELATION_RATE", format!("{:.3}", r.rate())),
            index("CORRELATION_NB_VALID_POINTS", valid.to_string()),
            index("CORRELATION_NB_POINTS", r.correlated.to_string()),
            index(
                "CORRELATION_PERCENTAGE_VALID_POINTS",
                format!("{:.2}", 100.0 * valid as f64 / r.correlated.max(1) as f64),
            ),
        ],
    }))
}
