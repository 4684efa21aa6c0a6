//! GIP_L3COMM (the L3 synthesis parameters, ICD-DIGEST §5.5, schema 0.40): the document as the
//! schema orders it, written and read back.
//!
//! The schema types every weight and distance as an integer and documents none of them. VIP
//! reads them as the knobs of the CNES weighted-average synthesis (WASP, which carries the
//! method designed for VENµS) with these units: `Sigma_Small_Cloud_Dist` and
//! `Sigma_Large_Cloud_Dist` in cells of the coarse cloud grid (240 m, WASP's `COARSE_RES`;
//! WASP's defaults 2 and 10), `Min_Weight_AOT` and `Max_Weight_AOT` in hundredths (WASP's 0.33
//! and 1 are 33 and 100), `Max_AOT_Linear` the AOT where the AOT weight reaches its minimum
//! (WASP's `AOT_MAX`, 0.80), `Max_Sat_Bands` the number of saturated bands above which an
//! observation is not used as clear. What the values mean is [`crate::composite`]'s business.

use std::path::Path;

use super::gipp::read_gipp;
use super::gipps::{text_int, text_num, GippCommon, Kind};
use super::xml::dec;
use super::{EeDoc, Node};
use crate::error::{Result, VipError};

const L3COMM: Kind = Kind {
    gipp_type: "L3COMM",
    description: "L3CommonParameters",
    schema_version: "0.40",
};

/// The content of a GIP_L3COMM data block, element by element.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct L3Comm {
    /// Sigma_Large_Cloud_Dist, Sigma_Small_Cloud_Dist: coarse cells.
    pub sigma_large_cells: u32,
    pub sigma_small_cells: u32,
    /// Min_Weight_AOT, Max_Weight_AOT: hundredths.
    pub min_weight_aot_pct: u32,
    pub max_weight_aot_pct: u32,
    /// Max_AOT_Linear (2 decimals).
    pub max_aot_linear: f64,
    /// Max_Sat_Bands.
    pub max_sat_bands: u32,
}

impl L3Comm {
    /// WASP's defaults (`WASP:PythonScripts/WASP.py`): σ 2 and 10 coarse cells, AOT weights
    /// 0.33 to 1 reached at AOT 0.8; VIP lets an observation with one saturated band count
    /// (its other bands are averaged; the saturated one keeps its bit).
    pub const WASP: L3Comm = L3Comm {
        sigma_large_cells: 10,
        sigma_small_cells: 2,
        min_weight_aot_pct: 33,
        max_weight_aot_pct: 100,
        max_aot_linear: 0.8,
        max_sat_bands: 1,
    };
}

/// The L3COMM document of `c`.
pub fn l3comm(common: &GippCommon, c: &L3Comm) -> Result<EeDoc> {
    super::gipps::check_finite("GIP_L3COMM", [c.max_aot_linear])?;
    let data = Node::new("Data_Block")
        .child(Node::text("Sigma_Large_Cloud_Dist", c.sigma_large_cells))
        .child(Node::text("Sigma_Small_Cloud_Dist", c.sigma_small_cells))
        .child(Node::text("Min_Weight_AOT", c.min_weight_aot_pct))
        .child(Node::text("Max_Weight_AOT", c.max_weight_aot_pct))
        .child(Node::text("Max_AOT_Linear", dec(c.max_aot_linear, 2)))
        .child(Node::text("Max_Sat_Bands", c.max_sat_bands));
    common.doc(&L3COMM, None, None, data)
}

/// Reads a GIP_L3COMM file.
pub fn read_l3comm(path: &Path) -> Result<L3Comm> {
    let doc = read_gipp(path, "GIP_L3COMM")?;
    let data = doc
        .data_block
        .as_ref()
        .ok_or_else(|| VipError::bad_input(path, "no Data_Block"))?;
    let int = |p: &str| -> Result<u32> { text_int(data, p, path) };
    let c = L3Comm {
        sigma_large_cells: int("Sigma_Large_Cloud_Dist")?,
        sigma_small_cells: int("Sigma_Small_Cloud_Dist")?,
        min_weight_aot_pct: int("Min_Weight_AOT")?,
        max_weight_aot_pct: int("Max_Weight_AOT")?,
        max_aot_linear: text_num(data, "Max_AOT_Linear", path)?,
        max_sat_bands: int("Max_Sat_Bands")?,
    };
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ee::gipp::Applicability;
    use crate::ee::gipps::{tests::common, write_gipp};

    #[test]
    fn wasp_defaults_validate_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_gipp(
            &l3comm(&common(Applicability::AllSites), &L3Comm::WASP).unwrap(),
            dir.path(),
        )
        .unwrap();
        crate::ee::schema::validate_all(&[&path]).unwrap();
        assert_eq!(read_l3comm(&path).unwrap(), L3Comm::WASP);
        let text = std::fs::read_to_string(&path).unwrap();
        let (start, end) = (
            text.find("<Max_AOT_Linear>").unwrap(),
            text.find("</Max_AOT_Linear>").unwrap() + "</Max_AOT_Linear>".len(),
        );
        std::fs::write(&path, format!("{}{}", &text[..start], &text[end..])).unwrap();
        let e = read_l3comm(&path).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("Max_AOT_Linear"), "{e}");
    }
}
