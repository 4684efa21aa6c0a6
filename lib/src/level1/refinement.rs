//! vip-l1's geometry refined on the site's reference image (GEOVEN's module 1 on B05 with B06
//! as its second band; the VENµS centre's headers give B05's figures): the knowledge error of the auxiliary data found by
//! [`crate::geometry::refine`], set in the flight every band's model is built from, and the
//! quality indexes real L1 headers carry. Without a reference image, or when it gives too
//! few tie points, the product is made unrefined and the log says why.

use super::Inputs;
use crate::error::{Result, VipError};
use crate::geometry::refine::{self, Band, Reference};
use crate::geometry::sensor::BandModel;
use crate::mission::venus;
use crate::product::l1c::QualityIndex;

/// The band correlated with the reference image, whose figures the header gives.
pub const REFINED_BAND: &str = "B05";
/// GEOVEN module 1's optional second band: B06, B05's stereo twin (the same 620 nm) looking
/// aft where B05 looks fore, so that a yaw error moves the two apart across the track.
pub const SECOND_BAND: &str = "B06";

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
    let index_of = |code: &str| {
        venus::BANDS
            .iter()
            .position(|x| x.code == code)
            .ok_or_else(|| VipError::Internal(format!("no band {code}")))
    };
    let indexes = [index_of(REFINED_BAND)?, index_of(SECOND_BAND)?];
    let reference = Reference::open(&refimg.image, inp.epsg)?;
    let size = |b: usize| (inp.product.bands[b].lines, inp.product.bands[b].cols);
    let (lines, cols) = size(indexes[0]);
    let (l, c) = (lines as f64, cols as f64);
    let (_, _, h, _) = inp.dem.statistics();
    let footprint: Vec<(f64, f64)> = [(0.0, 0.0), (0.0, c), (l, 0.0), (l, c)]
        .iter()
        .map(|&(l, c)| models[indexes[0]].ground(l, c, h))
        .collect();
    if !reference.overlaps(&footprint) {
        return Err(VipError::bad_input(
            &refimg.image,
            "the reference image does not overlap the image (another site?)",
        ));
    }
    let readers: Vec<_> = indexes
        .iter()
        .map(|&b| {
            let inp = &*inp;
            move |lines: std::ops::Range<usize>, needed: &crate::raster::RowsPerRun| {
                Ok(inp.radiance(b, lines, needed)?.0)
            }
        })
        .collect();
    let bands: Vec<Band> = indexes
        .iter()
        .zip(&readers)
        .map(|(&b, raw)| Band {
            model: &models[b],
            raw,
            size: size(b),
        })
        .collect();
    let found = refine::refine(&bands, &inp.flight, &reference, &inp.dem)?;
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
    let figures = |b: usize| {
        format!(
            "{} {} of {} tie points, residual {:.3} px, correlation {:.3}",
            [REFINED_BAND, SECOND_BAND][b],
            r.valid(b),
            r.correlated[b],
            r.residual(b),
            r.rate(b)
        )
    };
    log::info!(
        "{id}: refined on {}: attitude biases roll {:.1}, pitch {:.1}, yaw {:.1} µrad{}, time \
         offset {:.2} ms; {}; {} (before the last fit {:.3} px)",
        refimg.id,
        k.roll_urad,
        k.pitch_urad,
        k.yaw_urad,
        if r.yaw_held {
            " (held: the tie points do not show it)"
        } else {
            ""
        },
        k.time_s * 1e3,
        figures(0),
        figures(1),
        r.residual_before
    );
    inp.flight.knowledge = k;
    let index = |code: &str, value: String| QualityIndex {
        code: code.into(),
        value,
        band: Some(REFINED_BAND.into()),
    };
    let valid = r.valid(0);
    Ok(Some(Refined {
        reference: refimg.id,
        indexes: vec![
            index("IMAGE_RESIDUES_REFIMG", format!("{:.3}", r.residual(0))),
            index("CORRELATION_RATE", format!("{:.3}", r.rate(0))),
            index("CORRELATION_NB_VALID_POINTS", valid.to_string()),
            index("CORRELATION_NB_POINTS", r.correlated[0].to_string()),
            index(
                "CORRELATION_PERCENTAGE_VALID_POINTS",
                format!(
                    "{:.2}",
                    100.0 * valid as f64 / r.correlated[0].max(1) as f64
                ),
            ),
        ],
    }))
}
