//! Headers of the L2 look-up-table GIPPs (ICD-DIGEST §5.5): an `.HDR` whose `LUT_Indexes`
//! give the axes and whose `DBL_Organization` lists one MetaImage file per band in the
//! `.DBL.DIR` (`File_Definition` `lut_inv`).
//!
//! The VENµS kinds (L2TOCR, L2DIRT, L2DIFT, L2ALBD, L2WATV) validate against their XSDs. The
//! gaseous transmission table L2GAST has no VENµS schema (the real centre folded the gases in
//! SMAC coefficients, which cannot reproduce 6S to the accuracy VIP keeps): it is a VIP
//! extension with the same header layout, an `Ozone_Content` element and its own schema,
//! `lib/schemas/VIP_GIP_L2GAST.xsd`. So is the aerosol phase-function table L2PHAS
//! (`lib/schemas/VIP_GIP_L2PHAS.xsd`), the single-scattering term the L2 adds back at each
//! pixel's scattering angle (see [`crate::atmosphere::luts`]).

use std::path::{Path, PathBuf};

use super::gipps::{child, GippCommon, Kind};
use super::xml::dec;
use super::{EeDoc, Layout, Node};
use crate::atmosphere::table::Axis;
use crate::error::{Result, VipError};

/// The LUT GIPP kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LutKind {
    /// Surface (top of canopy) reflectance from gas-free TOA reflectance.
    Tocr,
    /// Direct transmission (sun or view path).
    Dirt,
    /// Diffuse transmission.
    Dift,
    /// Spherical albedo of the atmosphere.
    Albd,
    /// Water vapour from the 910/865 nm reflectance ratio.
    Watv,
    /// Gaseous transmission (VIP extension).
    Gast,
    /// Aerosol single-scattering albedo times phase function (VIP extension).
    Phas,
}

impl LutKind {
    pub const ALL: [LutKind; 7] = [
        LutKind::Tocr,
        LutKind::Dirt,
        LutKind::Dift,
        LutKind::Albd,
        LutKind::Watv,
        LutKind::Gast,
        LutKind::Phas,
    ];

    /// GIPP type code (`L2TOCR` ...).
    pub fn code(self) -> &'static str {
        self.kind().gipp_type
    }

    fn kind(self) -> Kind {
        let (gipp_type, description, schema_version) = match self {
            LutKind::Tocr => ("L2TOCR", "L2LutOfTopOfCanopyReflectance", "0.40"),
            LutKind::Dirt => ("L2DIRT", "L2LutOfDirectTransmission", "0.40"),
            LutKind::Dift => ("L2DIFT", "L2LutOfDiffuseTransmission", "0.40"),
            LutKind::Albd => ("L2ALBD", "L2LutOfAtmosphericAlbedo", "0.40"),
            LutKind::Watv => ("L2WATV", "LutOfWaterVapor", "0.40"),
            LutKind::Gast => ("L2GAST", "L2LutOfGaseousTransmission", "1.0"),
            LutKind::Phas => ("L2PHAS", "L2LutOfAerosolPhaseFunction", "1.0"),
        };
        Kind {
            gipp_type,
            description,
            schema_version,
        }
    }

    fn xsi_type(self) -> &'static str {
        match self {
            LutKind::Tocr => "RFLTOC_File_Type",
            LutKind::Dirt => "RFDIRT_File_Type",
            LutKind::Dift => "RFLDIFT_File_Type",
            LutKind::Albd => "RFALBD_File_Type",
            LutKind::Watv => "RFLWAT_File_Type",
            LutKind::Gast => "RFGAST_File_Type",
            LutKind::Phas => "RFPHAS_File_Type",
        }
    }

    /// The `LUT_Indexes` elements, in schema (and storage) order.
    pub fn axes(self) -> &'static [&'static str] {
        match self {
            LutKind::Tocr => &[
                "Solar_Zenith_Angle_Indexes",
                "View_Zenith_Angle_Indexes",
                "Relative_Azimuth_Angle_Indexes",
                "Altitude_Indexes",
                "AOT_Indexes",
                "TOA_Reflectance_Indexes",
            ],
            LutKind::Dirt | LutKind::Dift => {
                &["Zenithal_Angle_Indexes", "Altitude_Indexes", "AOT_Indexes"]
            }
            LutKind::Albd => &["Altitude_Indexes", "AOT_Indexes"],
            LutKind::Watv => &[
                "Solar_Zenith_Angle_Indexes",
                "View_Zenith_Angle_Indexes",
                "Reflectance_Ratio_Indexes",
            ],
            LutKind::Gast => &[
                "Solar_Zenith_Angle_Indexes",
                "View_Zenith_Angle_Indexes",
                "Altitude_Indexes",
                "Water_Vapour_Indexes",
            ],
            LutKind::Phas => &["Scattering_Angle_Indexes"],
        }
    }
}

/// What a LUT GIPP header says: its kind and parameters, axes, per-band data files and (for
/// L2GAST) the ozone content the table was made with.
#[derive(Debug, Clone, PartialEq)]
pub struct LutHeader {
    pub kind: LutKind,
    pub common: GippCommon,
    pub axes: Vec<Axis>,
    /// (band code, data file) in header order.
    pub files: Vec<(String, PathBuf)>,
    /// cm·atm, L2GAST only.
    pub ozone: Option<f64>,
}

/// Writes the header of a LUT GIPP with one data file per band into `dir`; returns the header
/// path and the path each band's MetaImage file must be written to (the `.DBL.DIR` exists).
pub fn write_lut_header(
    common: &GippCommon,
    kind: LutKind,
    axes: &[Axis],
    bands: &[&str],
    ozone: Option<f64>,
    dir: &Path,
) -> Result<(PathBuf, Vec<PathBuf>)> {
    let internal = |m: String| VipError::Internal(format!("{}: {m}", kind.code()));
    let names: Vec<&str> = axes.iter().map(|a| a.name.as_str()).collect();
    if names != kind.axes() {
        return Err(internal(format!(
            "axes {names:?}, the schema has {:?}",
            kind.axes()
        )));
    }
    for a in axes {
        a.check().map_err(internal)?;
        if let Some(v) = a
            .values
            .iter()
            .find(|&&v| dec(v, 6).parse::<f64>() != Ok(v))
        {
            return Err(internal(format!(
                "{} node {v} needs more than 6 decimals",
                a.name
            )));
        }
    }
    if (kind == LutKind::Gast) != ozone.is_some() {
        return Err(internal("the ozone content goes with L2GAST only".into()));
    }
    let mut doc: EeDoc = common.doc(&kind.kind(), None, None, Node::new("Data_Block"))?;
    let id = doc.fixed.file_name.clone();
    let dbl = format!("{id}.DBL.DIR");
    let rel: Vec<String> = bands
        .iter()
        .map(|b| format!("{dbl}/{id}_{b}.mha"))
        .collect();
    let packaged = rel
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Node::new("Packaged_DBL_File")
                .attr("sn", i + 1)
                .child(Node::text("Relative_File_Path", r))
                .child(Node::text("File_Definition", "lut_inv"))
        })
        .collect();
    let indexes = Node::new("LUT_Indexes").children(axes.iter().map(|a| {
        let text: Vec<String> = a.values.iter().map(|&v| dec(v, 6)).collect();
        Node::text(&a.name, text.join(" "))
    }));
    // Schema order: Instance_Id, DBL_Organization, site list, [Ozone_Content], LUT_Indexes.
    let mut children = std::mem::take(&mut doc.specific.children);
    children.insert(
        1,
        Node::new("DBL_Organization").child(Node::list("List_of_Packaged_DBL_Files", packaged)),
    );
    if let Some(o) = ozone {
        children.push(Node::text("Ozone_Content", dec(o, 6)).attr("unit", "cm.atm"));
    }
    children.push(indexes);
    doc.specific.children = children;
    doc.layout = Layout::Header;
    doc.xsi_type = kind.xsi_type().into();
    doc.data_block = None;
    crate::raster::ensure_dir(&dir.join(&dbl))?;
    let hdr = dir.join(format!("{id}.HDR"));
    doc.write(&hdr)?;
    Ok((hdr, rel.iter().map(|r| dir.join(r)).collect()))
}

/// Reads a LUT GIPP header of `kind`: axes checked, band files resolved (not read).
pub fn read_lut_header(path: &Path, kind: LutKind) -> Result<LutHeader> {
    let doc = super::gipp::read_gipp(path, &format!("GIP_{}", kind.code()))?;
    let bad = |m: String| VipError::bad_input(path, m);
    let sp = &doc.specific;
    let idx = child(sp, "LUT_Indexes", path)?;
    let axes = kind
        .axes()
        .iter()
        .map(|&name| {
            let values = child(idx, name, path)?
                .text
                .split_whitespace()
                .map(|t| super::gipps::parse_num(t, name, path))
                .collect::<Result<Vec<f64>>>()?;
            let a = Axis::new(name, values);
            a.check().map_err(bad)?;
            Ok(a)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut files = vec![];
    for (_, file) in super::gipps::packaged_files(sp, path)? {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let band = name
            .strip_suffix(".mha")
            .and_then(|s| s.rsplit_once('_'))
            .map(|(_, b)| b.to_string())
            .filter(|b| super::gipps::check_band(b).is_ok())
            .ok_or_else(|| bad(format!("file '{name}' is not named <id>_Bnn.mha")))?;
        files.push((band, file));
    }
    let ozone = match kind {
        LutKind::Gast => Some(super::gipps::text_num(sp, "Ozone_Content", path)?),
        _ => None,
    };
    Ok(LutHeader {
        kind,
        common: GippCommon::from_doc(&doc, path)?,
        axes,
        files,
        ozone,
    })
}
