//! L2A product: surface reflectance on the site grid with its atmospheric parameters and
//! masks, written by `vip-maccs l2` and read by `vip-maccs l3`, `vip-pack` and `vip-qc`. It
//! follows the ICD L2 published product (ICD-DIGEST §4.1), file semantic `L2VALD`.
//!
//! Files, for class `c`, site nick `NICK` (8 characters) and acquisition date `D` (`yyyymmdd`):
//! ```text
//! VE_c_VSC_L2VALD_NICK_D.HDR               global header, VSC_PDT_L2_Header_Type (File_Type
//!                                          VSC_L2VALD, schema_version 0.42): the L1C's site,
//!                                          grid, angles and DEM, plus processing mode,
//!                                          adjacency/slope flag and the products used
//! VE_c_VSC_L2VALD_NICK_D.DBL.DIR/
//!   VE_c_VSC_PDTIMG_L2VALD_NICK_D_SRE.HDR / .DBL.TIF   int16, 12 bands B01..B12: surface
//!                         reflectance without slope correction, ρ / Reflectance_Quantification_Value
//!                         (0.001 ⇒ ρ×1000), Nodata_Value −10000
//!   VE_c_VSC_PDTIMG_L2VALD_NICK_D_FRE.HDR / .DBL.TIF   the same, slope-corrected (flat) reflectance
//!   VE_c_VSC_PDTANX_L2VALD_NICK_D_ATB.HDR / .DBL.TIF   uint8, 2 bands (own schema,
//!                         VE_VSC_PDTANX_L2L3_AtmosphericAndBiophysicalProduct.xsd):
//!       1 VAP  water vapour, g/cm² = DN × VAP_Quantification_Value (0.05), VAP_Nodata_Value 0
//!       2 AOT  aerosol optical thickness = DN × AOT_Quantification_Value (0.005), AOT_Nodata_Value 0
//!   VE_c_VSC_PDTANX_L2VALD_NICK_D_CLD.HDR / .DBL.TIF   uint8, 1 band CLD, cloud bits (bits::CLD_*)
//!   VE_c_VSC_PDTANX_L2VALD_NICK_D_MSK.HDR / .DBL.TIF   uint8, 1 band MSK, geophysical bits
//!                                                      (bits::MSK_*)
//!   VE_c_VSC_PDTANX_L2VALD_NICK_D_QLT.HDR / .DBL.TIF   uint16, 3 bands (12 bits are needed):
//!       1 SAT  bit n−1 set when band Bn was saturated (from the L1C)
//!       2 PIX  bit n−1 set when band Bn came from a defective detector (from the L1C)
//!       3 OTH  other quality bits (bits::OTH_*)
//!   VE_c_VSC_PDTANX_L2VALD_NICK_D_SOL.HDR / .DBL.TIF   sun direction grid, float32
//!   VE_c_VSC_PDTANX_L2VALD_NICK_D_VIE.HDR / .DBL.TIF   viewing direction grids, float32
//! ```
//! The bit masks have no nodata value (`Nodata_Value` `NaN` in their headers): edges are the
//! OTH bit [`bits::OTH_EDG`]. Bits are numbered from 1 at the least significant bit. Until
//! the L2 cloud tests exist, CLD carries the L1C cloud mask in bits ALL and REFL.
//! The SOL and VIE grids are the L1C's, copied (same planes and encoding as
//! [`super::l1c`]); like the L1C, VIP writes them as GeoTIFF where the ICD says HDF.
//! The quicklook and the private context (`PRIVATE/`) are not written yet.
//!
//! **Not valid (too cloudy).** Above the L2COMM `Max_Cloud_Percentage` a date is not issued
//! ([`Validity::TooCloudy`]): VIP writes its global header alone,
//! `VE_c_VSC_L2NOTV_NICK_D.HDR` (File_Type `VSC_L2NOTV`, the validity code the ICD gives L2
//! products besides `VALD`), with no `.DBL.DIR` and no raster. It carries what the L2VALD
//! header carries (site, date, grid, angles, DEM, Aks, GIPPs used, the L1C in
//! `List_of_Used_Product_Ids`, processing mode), `Cloud_Percentage` the measured one,
//! `Adjacency_Effects_And_Slope_Correction` false (nothing was corrected), the reason in the
//! Fixed_Header `Notes` (`product not valid: cloud percentage X % above Max_Cloud_Percentage
//! Y %`), and a `Product_Organization` with no `Image_File` and an empty
//! `List_of_Annex_Files`, which the L2 schema allows (`Image_File` minOccurs 0, annex count
//! ≥ 0). The MUSCATE flavour states the same verdict as the `Validity_Flag` `L2NOTV` of its
//! `JPI_ALL.xml` (`testdata/venus/muscate-templates/L2.product/`); VIP writes no MUSCATE file
//! for it. [`L2a::open`] refuses such a header: there is nothing to read.

use std::path::{Path, PathBuf};

use super::common::{
    boolean, dec, must_exist, num, raster_beside, raster_format, raster_size, subsampling,
    HeaderWriter, Reader, SiteHeader,
};
pub use super::common::{ANNEX_SOL, ANNEX_VIE};
use super::l1c::L1c;
use crate::ee::ProductId;
use crate::ee::{EeDoc, Layout, Node};
use crate::error::{Result, VipError};

/// File semantic of a valid L2 product.
pub const SEMANTIC: &str = "L2VALD";
/// `File_Type` of the global header.
pub const FILE_TYPE: &str = "VSC_L2VALD";
/// File semantic of an L2 product not valid (too cloudy): its global header alone.
pub const SEMANTIC_NOTV: &str = "L2NOTV";
/// `File_Type` of that header.
pub const FILE_TYPE_NOTV: &str = "VSC_L2NOTV";
/// Image code of the surface reflectance (no slope correction).
pub const IMAGE_SRE: &str = "SRE";
/// Image code of the slope-corrected (flat) reflectance.
pub const IMAGE_FRE: &str = "FRE";
/// Annex code of the atmospheric parameters (water vapour and aerosol optical thickness).
pub const ANNEX_ATB: &str = "ATB";
/// Annex code of the geophysical masks.
pub const ANNEX_MSK: &str = "MSK";
/// Annex code of the quality masks.
pub const ANNEX_QLT: &str = "QLT";
/// Annex code of the cloud mask.
pub const ANNEX_CLD: &str = "CLD";
/// Every annex of the product, in the order of the global header.
pub const ANNEXES: [&str; 6] = [
    ANNEX_ATB, ANNEX_CLD, ANNEX_MSK, ANNEX_QLT, ANNEX_SOL, ANNEX_VIE,
];
/// The 12 bands of the SRE and FRE images, in file order.
pub const IMAGE_BANDS: [&str; 12] = [
    "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B09", "B10", "B11", "B12",
];
/// Bands of the ATB annex, in file order.
pub const ATB_BANDS: [&str; 2] = ["VAP", "AOT"];
/// 1-based raster band of the water vapour in the ATB annex.
pub const ATB_VAP_BAND: usize = 1;
/// 1-based raster band of the aerosol optical thickness in the ATB annex.
pub const ATB_AOT_BAND: usize = 2;
/// Bands of the QLT annex, in file order.
pub const QLT_BANDS: [&str; 3] = ["SAT", "PIX", "OTH"];
/// 1-based raster band of the saturation bits in the QLT annex (bit n−1 = band Bn).
pub const QLT_SAT_BAND: usize = 1;
/// 1-based raster band of the defective-pixel bits in the QLT annex (bit n−1 = band Bn).
pub const QLT_PIX_BAND: usize = 2;
/// 1-based raster band of the other quality bits ([`bits`]`::OTH_*`) in the QLT annex.
pub const QLT_OTH_BAND: usize = 3;
/// Processing modes: first date without history, nominal with the previous L2, series
/// processed backwards to initialise.
pub const PROCESSING_MODES: [&str; 3] = ["INIT_MODE", "STANDARD_MODE", "BACKWARD_MODE"];

const GLOBAL_SCHEMA_VERSION: &str = "0.42";
/// Unit written for bit masks (`Values_Unit`).
const MASK_UNIT: &str = "NONE";

/// Bit values of the mask annexes (bit 1 = least significant = value 1).
pub mod bits {
    /// MSK bit 1: water.
    pub const MSK_WAT: u8 = 1;
    /// MSK bit 2: hidden face (the surface turns away from the satellite).
    pub const MSK_HID: u8 = 2;
    /// MSK bit 3: topographic shadow cast by the relief.
    pub const MSK_SHD: u8 = 4;
    /// MSK bit 4: sun too low on the slope (self shadow, cos i below the minimum).
    pub const MSK_STL: u8 = 8;
    /// MSK bit 5: sun tangent to the slope.
    pub const MSK_TGS: u8 = 16;
    /// MSK bit 6 (VIP addition; the VENµS L2 has no snow mask, MUSCATE's MG2 has one): snow.
    pub const MSK_SNW: u8 = 32;

    /// QLT OTH bit 1: no data (edge of the image).
    pub const OTH_EDG: u16 = 1;
    /// QLT OTH bit 2: aerosol optical thickness interpolated (gap-filled).
    pub const OTH_IAO: u16 = 2;
    /// QLT OTH bit 3: water vapour interpolated (gap-filled).
    pub const OTH_IWC: u16 = 4;
    /// QLT OTH bit 4 (VIP addition): the conditions were outside a look-up table axis and
    /// were clamped to it.
    pub const OTH_CLAMP: u16 = 8;

    /// CLD bit 1: any cloud or cloud shadow (summary of the bits below).
    pub const CLD_ALL: u8 = 1;
    /// CLD bit 2: any cloud (summary of the cloud bits).
    pub const CLD_ALL_CLOUDS: u8 = 2;
    /// CLD bit 3: shadow of a cloud detected in the image.
    pub const CLD_SHADOWS: u8 = 4;
    /// CLD bit 4: shadow of a cloud outside the image, found by reflectance darkening.
    pub const CLD_SHADVAR: u8 = 8;
    /// CLD bit 5: cloud by reflectance threshold.
    pub const CLD_REFL: u8 = 16;
    /// CLD bit 6: cloud by multi-temporal reflectance variation.
    pub const CLD_REFL_VAR: u8 = 32;
    /// CLD bit 7: dilation of the cloud mask.
    pub const CLD_EXTENSION: u8 = 64;
    /// CLD bit 8: cloud by stereoscopic altitude (VENµS).
    pub const CLD_ALT: u8 = 128;
}

/// Whether an L2 product is issued: its id's validity code and its `File_Type` (ICD:
/// `L2VALD` | `L2NOTV`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Validity {
    /// Issued: the whole product ([`SEMANTIC`], [`FILE_TYPE`]).
    Valid,
    /// Not issued, its cloud percentage above `max_cloud_percentage` (the L2COMM
    /// `Max_Cloud_Percentage`, percent): the global header alone ([`SEMANTIC_NOTV`],
    /// [`FILE_TYPE_NOTV`]), saying why.
    TooCloudy { max_cloud_percentage: f64 },
}

impl Validity {
    /// The file semantic of the product's ids.
    pub fn semantic(self) -> &'static str {
        match self {
            Validity::Valid => SEMANTIC,
            Validity::TooCloudy { .. } => SEMANTIC_NOTV,
        }
    }

    /// The `File_Type` of the global header.
    pub fn file_type(self) -> &'static str {
        match self {
            Validity::Valid => FILE_TYPE,
            Validity::TooCloudy { .. } => FILE_TYPE_NOTV,
        }
    }
}

/// An L2A product (header model; the pixels are in the files it names).
#[derive(Debug, Clone, PartialEq)]
pub struct L2a {
    /// Issued, or not valid (too cloudy: the global header alone).
    pub validity: Validity,
    /// Names, acquisition, grid, angles, DEM, quantification and provenance.
    pub site: SiteHeader,
    /// Water vapour of one ATB VAP count, g/cm² (0.05); ≤ 3 decimals.
    pub vap_quantification: f64,
    /// Aerosol optical thickness of one ATB AOT count (0.005); ≤ 3 decimals.
    pub aot_quantification: f64,
    /// ATB VAP count meaning no data (0).
    pub vap_nodata: u8,
    /// ATB AOT count meaning no data (0).
    pub aot_nodata: u8,
    /// One of [`PROCESSING_MODES`].
    pub processing_mode: String,
    /// Whether adjacency effects and slopes were corrected.
    pub adjacency_and_slope: bool,
    /// Ids of the products used: the L1C, then the previous L2 when there is one (≥ 1).
    pub used_products: Vec<String>,
    /// How the aerosol model was decided ([`crate::level2::aerosol::Choice::note`]): the
    /// `Notes` of a valid product's global header (empty: not said).
    pub aerosol_note: String,
}

impl L2a {
    fn ids(&self) -> ProductId {
        self.site.id(self.validity.semantic())
    }

    /// The headers' writer of the product.
    pub(crate) fn header(&self) -> HeaderWriter<'_> {
        HeaderWriter {
            site: &self.site,
            ids: self.ids(),
        }
    }

    /// An L2A of the same site, date, grid, angles, DEM and Aks as `l1c`, made from it (its id
    /// is the one used product). The L2 fields take the ICD template values: reflectance
    /// quantification 0.001 and nodata −10000, VAP 0.05 g/cm² and AOT 0.005 per count with
    /// nodata 0, `INIT_MODE`, no adjacency/slope correction; the cloud percentage is the
    /// L1C's, no GIPPs are listed, creation is now (or `SOURCE_DATE_EPOCH`) by `vip-maccs`;
    /// valid.
    pub fn from_l1c(l1c: &L1c) -> L2a {
        L2a {
            validity: Validity::Valid,
            site: SiteHeader {
                quantification: 0.001,
                nodata: -10000,
                gipps_used: vec![],
                creation: crate::ee::header::creation_time(),
                creator: "vip-maccs".into(),
                creator_version: env!("CARGO_PKG_VERSION").into(),
                ..l1c.site.clone()
            },
            vap_quantification: 0.05,
            aot_quantification: 0.005,
            vap_nodata: 0,
            aot_nodata: 0,
            processing_mode: PROCESSING_MODES[0].into(),
            adjacency_and_slope: false,
            aerosol_note: String::new(),
            used_products: vec![l1c.global_id()],
        }
    }

    /// The product id, `VE_<class>_VSC_L2VALD_<nick>_<yyyymmdd>` (`L2NOTV` when not valid).
    pub fn global_id(&self) -> String {
        self.ids().to_string()
    }

    /// The global header in `dir`: `<dir>/<id>.HDR`.
    pub fn header_path(&self, dir: &Path) -> PathBuf {
        self.ids().header_path(dir)
    }

    /// The product folder in `dir`: `<dir>/<id>.DBL.DIR`.
    pub fn dbl_dir(&self, dir: &Path) -> PathBuf {
        dir.join(self.ids().dbl_dir())
    }

    /// The header of image `code` ([`IMAGE_SRE`], [`IMAGE_FRE`]):
    /// `…DBL.DIR/VE_<class>_VSC_PDTIMG_L2VALD_<inst>_<code>.HDR`.
    pub fn image_header_path(&self, dir: &Path, code: &str) -> PathBuf {
        self.ids().image_header(dir, Some(code))
    }

    /// The 12-band raster of image `code`: `…_<code>.DBL.TIF`.
    pub fn image_path(&self, dir: &Path, code: &str) -> PathBuf {
        raster_beside(&self.image_header_path(dir, code))
    }

    /// The header of annex `code` (one of [`ANNEXES`]):
    /// `…DBL.DIR/VE_<class>_VSC_PDTANX_L2VALD_<inst>_<code>.HDR`.
    pub fn annex_header_path(&self, dir: &Path, code: &str) -> PathBuf {
        self.ids().annex_header(dir, code)
    }

    /// The raster of annex `code`: `…_<code>.DBL.TIF`.
    pub fn annex_path(&self, dir: &Path, code: &str) -> PathBuf {
        raster_beside(&self.annex_header_path(dir, code))
    }

    fn check(&self, site: &HeaderWriter) -> Result<()> {
        site.check()?;
        let bad = |m: String| Err(VipError::Internal(m));
        if !PROCESSING_MODES.contains(&self.processing_mode.as_str()) {
            return bad(format!(
                "processing mode '{}' is not one of {}",
                self.processing_mode,
                PROCESSING_MODES.join(", ")
            ));
        }
        if self.used_products.is_empty() {
            return bad("an L2A lists at least the L1C it was made from".into());
        }
        if self.validity != Validity::Valid && self.site.cloud_percentage.is_none() {
            return bad("an L2NOTV product states its cloud percentage".into());
        }
        for (name, q) in [
            ("VAP", self.vap_quantification),
            ("AOT", self.aot_quantification),
        ] {
            let kept: f64 = dec(q, 3).parse().unwrap_or(f64::NAN);
            if q.is_nan() || q <= 0.0 || (kept - q).abs() > 1e-12 {
                return bad(format!(
                    "{name} quantification {q} is not a positive value with at most 3 decimals"
                ));
            }
        }
        Ok(())
    }

    /// Writes the global header, the SRE and FRE image headers and the ATB, CLD, MSK, QLT,
    /// SOL and VIE annex headers of a valid product into `dir` (creating the `.DBL.DIR`);
    /// the rasters are written by the caller at [`L2a::image_path`] and [`L2a::annex_path`].
    /// Returns the global header path. A product not valid has no folder: see
    /// [`L2a::write_not_valid`].
    pub fn write_headers(&self, dir: &Path) -> Result<PathBuf> {
        let site = self.header();
        self.check(&site)?;
        if self.validity != Validity::Valid {
            return Err(VipError::Internal(format!(
                "{}: a product not valid has its global header alone",
                self.global_id()
            )));
        }
        let dbl = self.dbl_dir(dir);
        std::fs::create_dir_all(&dbl).map_err(|e| VipError::output_io(&dbl, &e))?;
        for code in [IMAGE_SRE, IMAGE_FRE] {
            site.image_doc(
                site.ids.image(Some(code)),
                site.image_information(&IMAGE_BANDS),
            )
            .write(&self.image_header_path(dir, code))?;
        }
        self.atb_doc(&site)
            .write(&self.annex_header_path(dir, ANNEX_ATB))?;
        for (code, data_type, bits_used, bands) in [
            (ANNEX_CLD, "UNSIGNED_BYTE", 8, &["CLD"][..]),
            (ANNEX_MSK, "UNSIGNED_BYTE", 5, &["MSK"][..]),
            (ANNEX_QLT, "UNSIGNED_SHORT", 12, &QLT_BANDS[..]),
        ] {
            let info = Node::new("Annex_Information")
                .children(raster_format(data_type, bits_used))
                .child(Node::text("Nodata_Value", "NaN"))
                .children(raster_size(self.site.lines, self.site.cols, bands))
                .child(subsampling(1.0))
                .child(Node::text("Values_Unit", MASK_UNIT));
            site.annex_doc(code, "Other", info)
                .write(&self.annex_header_path(dir, code))?;
        }
        site.write_grid_annexes(dir)?;
        let hdr = self.header_path(dir);
        self.global_doc(&site).write(&hdr)?;
        Ok(hdr)
    }

    /// Writes the global header of a product not valid ([`Validity::TooCloudy`]), and
    /// nothing else, into the output folder `out` (created when missing): under a temporary
    /// name, renamed when complete; an existing header is replaced only with `overwrite`
    /// (else exit 5). Returns its path.
    pub fn write_not_valid(&self, out: &Path, overwrite: bool) -> Result<PathBuf> {
        let site = self.header();
        self.check(&site)?;
        if self.validity == Validity::Valid {
            return Err(VipError::Internal(format!(
                "{}: a valid product is written with its folder",
                self.global_id()
            )));
        }
        crate::raster::ensure_dir(out)?;
        let staged = crate::raster::Staged::file(&self.header_path(out), overwrite)?;
        self.global_doc(&site).write(staged.path())?;
        staged.commit()
    }

    /// Why the product is not valid (the global header's `Notes`); empty when it is valid.
    pub fn notes(&self) -> String {
        match self.validity {
            Validity::Valid => self.aerosol_note.clone(),
            Validity::TooCloudy {
                max_cloud_percentage,
            } => format!(
                "product not valid: cloud percentage {} % above Max_Cloud_Percentage {} %",
                self.site
                    .cloud_percentage
                    .map_or("NIL=N/A".into(), |c| dec(c, 1)),
                num(max_cloud_percentage)
            ),
        }
    }

    /// The ATB header, with the VAP/AOT quantification and nodata its schema asks for.
    fn atb_doc(&self, site: &HeaderWriter) -> EeDoc {
        let info = Node::new("Annex_Information")
            .children(raster_format("UNSIGNED_BYTE", 8))
            .child(Node::text("VAP_Nodata_Value", self.vap_nodata))
            .child(Node::text(
                "VAP_Quantification_Value",
                dec(self.vap_quantification, 3),
            ))
            .child(Node::text("AOT_Nodata_Value", self.aot_nodata))
            .child(Node::text(
                "AOT_Quantification_Value",
                dec(self.aot_quantification, 3),
            ))
            .children(raster_size(self.site.lines, self.site.cols, &ATB_BANDS))
            .child(subsampling(1.0));
        site.annex_doc(
            ANNEX_ATB,
            "Atmospheric parameters (water vapour and aerosol)",
            info,
        )
    }

    fn global_doc(&self, site: &HeaderWriter) -> EeDoc {
        let ids = &site.ids;
        let info = site
            .product_information("L2")
            .child(
                Node::new("Processing_Flags_And_Modes")
                    .child(Node::text("Processing_Mode", &self.processing_mode))
                    .child(boolean(
                        "Adjacency_Effects_And_Slope_Correction",
                        self.adjacency_and_slope,
                    )),
            )
            .child(Node::list(
                "List_of_Used_Product_Ids",
                self.used_products
                    .iter()
                    .enumerate()
                    .map(|(i, id)| Node::text("Used_Product_Id", id).attr("sn", i + 1))
                    .collect(),
            ));
        // a product not valid has no file but its header
        let (images, annexes): (&[&str], &[&str]) = match self.validity {
            Validity::Valid => (&[IMAGE_SRE, IMAGE_FRE], &ANNEXES),
            Validity::TooCloudy { .. } => (&[], &[]),
        };
        let organization = Node::new("Product_Organization")
            .children(
                images
                    .iter()
                    .map(|code| site.file_ref("Image_File", "VSC_PDTIMG", &ids.image(Some(code)))),
            )
            .child(site.annex_list(annexes));
        let mut fixed = site.fixed(
            ids.to_string(),
            "L2PublishedProduct",
            self.validity.file_type(),
        );
        fixed.notes = self.notes();
        EeDoc {
            layout: Layout::Header,
            xsi_type: "VSC_PDT_L2_Header_Type".into(),
            schema_version: GLOBAL_SCHEMA_VERSION.into(),
            fixed,
            extensions: vec![],
            specific: Node::new("Specific_Product_Header")
                .child(site.instance_id())
                .child(info)
                .child(site.image_information(&IMAGE_BANDS))
                .child(site.geo_referencing())
                .child(organization),
            data_block: None,
        }
    }

    /// Reads an L2A from its global header, checking that it is a `VSC_L2VALD` EE header and
    /// that the SRE and FRE images and every annex it lists (headers and rasters) exist. An
    /// L2NOTV header is bad input saying so (the product was not issued: no rasters).
    pub fn open(hdr: &Path) -> Result<L2a> {
        let doc = EeDoc::read(hdr)?;
        if doc.fixed.file_type == FILE_TYPE_NOTV {
            // the Notes VIP writes say why; another writer's are quoted as they are
            let notes = doc.fixed.notes.trim();
            let why = match notes.strip_prefix("product not valid: ").unwrap_or(notes) {
                "" => String::new(),
                why => format!(" ({})", crate::error::bounded(why)),
            };
            return Err(VipError::bad_input(
                hdr,
                format!("an L2NOTV header: the product is not valid (too cloudy): no rasters{why}"),
            ));
        }
        doc.expect_type(FILE_TYPE, hdr)?;
        let r = Reader::new(hdr);
        let base = hdr.parent().unwrap_or(Path::new("."));
        let sph = &doc.specific;
        let info = r.node(sph, "Product_Information")?;
        let org = r.node(sph, "Product_Organization")?;

        for code in [IMAGE_SRE, IMAGE_FRE] {
            let suffix = format!("_{code}");
            let image = org
                .all("Image_File")
                .find(|f| {
                    f.find_text("Logical_Name")
                        .is_some_and(|n| n.ends_with(&suffix))
                })
                .ok_or_else(|| r.bad(format!("no {code} Image_File in Product_Organization")))?;
            let image_hdr = r.located(base, image)?;
            must_exist(&raster_beside(&image_hdr), &format!("{code} image"))?;
        }
        let mut annexes = Vec::with_capacity(ANNEXES.len());
        for code in ANNEXES {
            annexes.push(r.annex(base, org, code)?);
        }
        let s = SiteHeader::read(&doc, hdr, &annexes[4])?;

        let atb_hdr = &annexes[0];
        let atb = EeDoc::read(atb_hdr)?;
        atb.expect_type("VSC_PDTANX", atb_hdr)?;
        let ar = Reader::new(atb_hdr);
        let atb_info = ar.node(&atb.specific, "Annex_Information")?;
        let byte = |name: &str| -> Result<u8> {
            let t = ar.text(atb_info, name)?;
            t.parse()
                .map_err(|_| ar.bad(format!("{name} '{t}' is not a count 0-255")))
        };

        let flags = r.node(info, "Processing_Flags_And_Modes")?;
        let mode = r.text(flags, "Processing_Mode")?;
        if !PROCESSING_MODES.contains(&mode) {
            return Err(r.bad(format!(
                "Processing_Mode '{mode}' is not one of {}",
                PROCESSING_MODES.join(", ")
            )));
        }
        let used_products: Vec<String> = r
            .node(info, "List_of_Used_Product_Ids")?
            .all("Used_Product_Id")
            .map(|u| u.text.trim().to_string())
            .collect();
        if used_products.is_empty() {
            return Err(r.bad("List_of_Used_Product_Ids is empty"));
        }
        Ok(L2a {
            validity: Validity::Valid,
            site: s,
            vap_quantification: ar.f64(atb_info, "VAP_Quantification_Value")?,
            aot_quantification: ar.f64(atb_info, "AOT_Quantification_Value")?,
            vap_nodata: byte("VAP_Nodata_Value")?,
            aot_nodata: byte("AOT_Nodata_Value")?,
            processing_mode: mode.to_string(),
            adjacency_and_slope: r.bool(flags, "Adjacency_Effects_And_Slope_Correction")?,
            used_products,
            aerosol_note: doc.fixed.notes.trim().to_string(),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::mission::venus;
    use chrono::{NaiveDate, NaiveDateTime};

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").unwrap()
    }

    pub(crate) fn sample() -> L2a {
        let l1c = super::super::l1c::tests::sample();
        let mut p = L2a::from_l1c(&l1c);
        p.site.date = NaiveDate::from_ymd_opt(2018, 1, 2).unwrap();
        p.site.acquisition = t("2018-01-02T10:51:48.250");
        p.site.pixel_m = 10.0;
        p.site.lines = 2750;
        p.site.cols = 2700;
        p.processing_mode = "STANDARD_MODE".into();
        p.adjacency_and_slope = true;
        p.used_products = vec![
            "VE_TEST_VSC_L1VALD_CAMARGUE_20180102".into(),
            "VE_TEST_VSC_L2VALD_CAMARGUE_20180101".into(),
        ];
        p.site.gipps_used = vec![
            (
                "GIP_L2COMM".into(),
                "VE_TEST_GIP_L2COMM_L_ALLSITES_00001_20170801_99991231".into(),
            ),
            (
                "GIP_L2TOCR".into(),
                "VE_TEST_GIP_L2TOCR_L_CONTINEN_00001_00000000_99999999".into(),
            ),
        ];
        p.site.cloud_percentage = Some(7.3);
        p.site.creation = t("2024-11-24T12:00:00");
        p.site.creator_version = "0.1.0".into();
        p
    }

    fn header_paths(p: &L2a, dir: &Path) -> Vec<PathBuf> {
        let mut v = vec![p.header_path(dir)];
        v.extend([IMAGE_SRE, IMAGE_FRE].map(|c| p.image_header_path(dir, c)));
        v.extend(ANNEXES.map(|c| p.annex_header_path(dir, c)));
        v
    }

    fn touch_rasters(p: &L2a, dir: &Path) {
        for code in [IMAGE_SRE, IMAGE_FRE] {
            std::fs::write(p.image_path(dir, code), b"").unwrap();
        }
        for code in ANNEXES {
            std::fs::write(p.annex_path(dir, code), b"").unwrap();
        }
    }

    use super::super::common::testing::{assert_breakages_rejected, validate};

    #[test]
    fn from_l1c_keeps_the_site_and_sets_the_l2_defaults() {
        let l1c = super::super::l1c::tests::sample();
        let p = L2a::from_l1c(&l1c);
        assert_eq!(
            (p.site.class.as_str(), p.site.nick.as_str(), p.site.date),
            ("TEST", "CAMARGUE", l1c.site.date)
        );
        assert_eq!(
            (p.site.epsg, p.site.ulx, p.site.uly, p.site.pixel_m),
            (32631, 624_000.0, 4_840_000.0, 5.0)
        );
        assert_eq!((p.site.lines, p.site.cols), (l1c.site.lines, l1c.site.cols));
        assert_eq!((p.site.sun, p.site.view), (l1c.site.sun, l1c.site.view));
        assert_eq!(p.site.angle_grid_shape(), l1c.site.angle_grid_shape());
        assert_eq!(p.used_products, vec![l1c.global_id()]);
        assert_eq!((p.site.quantification, p.site.nodata), (0.001, -10000));
        assert_eq!((p.vap_quantification, p.aot_quantification), (0.05, 0.005));
        assert_eq!((p.vap_nodata, p.aot_nodata), (0, 0));
        assert_eq!(p.processing_mode, "INIT_MODE");
        assert!(p.site.gipps_used.is_empty());
    }

    #[test]
    fn names_follow_the_layout() {
        let p = sample();
        let d = Path::new("o");
        let dbl = Path::new("o/VE_TEST_VSC_L2VALD_CAMARGUE_20180102.DBL.DIR");
        assert_eq!(p.global_id(), "VE_TEST_VSC_L2VALD_CAMARGUE_20180102");
        assert_eq!(
            p.header_path(d),
            Path::new("o/VE_TEST_VSC_L2VALD_CAMARGUE_20180102.HDR")
        );
        assert_eq!(p.dbl_dir(d), dbl);
        assert_eq!(
            p.image_path(d, IMAGE_SRE),
            dbl.join("VE_TEST_VSC_PDTIMG_L2VALD_CAMARGUE_20180102_SRE.DBL.TIF")
        );
        assert_eq!(
            p.image_header_path(d, IMAGE_FRE),
            dbl.join("VE_TEST_VSC_PDTIMG_L2VALD_CAMARGUE_20180102_FRE.HDR")
        );
        for code in ANNEXES {
            assert_eq!(
                p.annex_path(d, code),
                dbl.join(format!(
                    "VE_TEST_VSC_PDTANX_L2VALD_CAMARGUE_20180102_{code}.DBL.TIF"
                ))
            );
        }
        let mission: Vec<&str> = venus::BANDS.iter().map(|b| b.code).collect();
        assert_eq!(IMAGE_BANDS.to_vec(), mission);
        assert_eq!(ATB_BANDS[ATB_VAP_BAND - 1], "VAP");
        assert_eq!(ATB_BANDS[ATB_AOT_BAND - 1], "AOT");
        assert_eq!(QLT_BANDS[QLT_SAT_BAND - 1], "SAT");
        assert_eq!(QLT_BANDS[QLT_PIX_BAND - 1], "PIX");
        assert_eq!(QLT_BANDS[QLT_OTH_BAND - 1], "OTH");
    }

    fn too_cloudy() -> L2a {
        let mut p = sample();
        p.site.cloud_percentage = Some(95.3);
        p.adjacency_and_slope = false;
        p.validity = Validity::TooCloudy {
            max_cloud_percentage: 90.0,
        };
        p
    }

    #[test]
    fn a_product_not_valid_is_named_l2notv() {
        let p = too_cloudy();
        let d = Path::new("o");
        assert_eq!(p.global_id(), "VE_TEST_VSC_L2NOTV_CAMARGUE_20180102");
        assert_eq!(
            p.header_path(d),
            Path::new("o/VE_TEST_VSC_L2NOTV_CAMARGUE_20180102.HDR")
        );
        assert_eq!(
            p.dbl_dir(d),
            Path::new("o/VE_TEST_VSC_L2NOTV_CAMARGUE_20180102.DBL.DIR")
        );
        assert_eq!(
            (p.validity.semantic(), p.validity.file_type()),
            ("L2NOTV", "VSC_L2NOTV")
        );
        assert_eq!(
            (Validity::Valid.semantic(), Validity::Valid.file_type()),
            (SEMANTIC, FILE_TYPE)
        );
        assert_eq!(
            p.notes(),
            "product not valid: cloud percentage 95.3 % above Max_Cloud_Percentage 90 %"
        );
        assert_eq!(sample().notes(), "");
    }

    #[test]
    fn the_l2notv_header_is_written_alone_validates_and_is_refused_by_open() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("L2");
        let p = too_cloudy();
        let hdr = p.write_not_valid(&out, false).unwrap();
        assert_eq!(hdr, p.header_path(&out));
        // the header alone: no folder, no temporary file left
        let names: Vec<_> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [hdr.file_name().unwrap()]);
        let (ok, text) = validate(std::slice::from_ref(&hdr));
        assert!(ok, "{text}");
        let doc = EeDoc::read(&hdr).unwrap();
        assert_eq!(doc.fixed.file_type, "VSC_L2NOTV");
        assert_eq!(doc.fixed.notes, p.notes());
        let xml = std::fs::read_to_string(&hdr).unwrap();
        assert!(
            xml.contains("<Cloud_Percentage>95.3</Cloud_Percentage>"),
            "{xml}"
        );
        assert!(xml.contains("<List_of_Annex_Files count=\"0\"/>"), "{xml}");
        assert!(
            !xml.contains("Image_File") && !xml.contains("L2VALD_CAMARGUE_20180102"),
            "{xml}"
        );
        // L2a::open: bad input saying why
        let e = L2a::open(&hdr).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        let msg = e.to_string();
        assert!(
            msg.contains(hdr.to_str().unwrap())
                && msg.contains("not valid (too cloudy): no rasters")
                && msg.contains("cloud percentage 95.3 %"),
            "{msg}"
        );
        // an existing header is replaced only with overwrite
        let e = p.write_not_valid(&out, false).unwrap_err();
        assert_eq!(e.exit_code(), 5, "{e}");
        p.write_not_valid(&out, true).unwrap();
        // each layout has its own writer
        assert!(p.write_headers(dir.path()).is_err());
        assert!(sample().write_not_valid(dir.path(), false).is_err());
        let mut q = too_cloudy();
        q.site.cloud_percentage = None;
        assert!(q.write_not_valid(dir.path(), false).is_err());
    }

    #[test]
    fn mask_bits_are_distinct_and_fit_their_types() {
        use bits::*;
        let msk = [MSK_WAT, MSK_HID, MSK_SHD, MSK_STL, MSK_TGS, MSK_SNW];
        let oth = [OTH_EDG, OTH_IAO, OTH_IWC, OTH_CLAMP];
        let cld = [
            CLD_ALL,
            CLD_ALL_CLOUDS,
            CLD_SHADOWS,
            CLD_SHADVAR,
            CLD_REFL,
            CLD_REFL_VAR,
            CLD_EXTENSION,
            CLD_ALT,
        ];
        // Bit n (from 1) has value 2^(n-1), in the documented order.
        for (i, b) in msk.iter().enumerate() {
            assert_eq!(u32::from(*b), 1 << i);
        }
        for (i, b) in oth.iter().enumerate() {
            assert_eq!(u32::from(*b), 1 << i);
        }
        for (i, b) in cld.iter().enumerate() {
            assert_eq!(u32::from(*b), 1 << i);
        }
        // The ICD manual's example: 19 = ALL + ALL_CLOUDS + REFL.
        assert_eq!(CLD_ALL | CLD_ALL_CLOUDS | CLD_REFL, 19);
    }

    #[test]
    fn headers_validate_against_the_icd() {
        let dir = tempfile::tempdir().unwrap();
        let p = sample();
        let hdr = p.write_headers(dir.path()).unwrap();
        let all = header_paths(&p, dir.path());
        assert_eq!(all[0], hdr);
        assert_eq!(all.len(), 9);
        let (ok, text) = validate(&all);
        assert!(ok, "{text}");
        // The ATB header passes its own schema (the generic annex schema has no VAP/AOT
        // elements, so it cannot be the one that accepted it).
        let atb = p.annex_header_path(dir.path(), ANNEX_ATB);
        let generic = crate::ee::schema::validate_with(
            &atb,
            "venus/icd/Venus/VE_VSC_PDTANX_L2L3_AnnexProduct.xsd",
        );
        assert!(generic.is_err(), "ATB passed the generic annex schema");
        // Optional parts absent, a single used product.
        let mut q = sample();
        q.site.cloud_percentage = None;
        q.site.dem_stats = None;
        q.site.dem_reference = "NONE".into();
        q.site.gipps_used.clear();
        q.site.aks.clear();
        q.site.orbit = None;
        q.used_products.truncate(1);
        q.processing_mode = "INIT_MODE".into();
        let dir2 = tempfile::tempdir().unwrap();
        q.write_headers(dir2.path()).unwrap();
        let (ok, text) = validate(&header_paths(&q, dir2.path()));
        assert!(ok, "{text}");
    }

    #[test]
    fn the_validator_rejects_broken_headers() {
        let dir = tempfile::tempdir().unwrap();
        let p = sample();
        p.write_headers(dir.path()).unwrap();
        let breakages = [
            (
                p.header_path(dir.path()),
                "<Processing_Mode>STANDARD_MODE<",
                "<Processing_Mode>FAST_MODE<",
            ),
            (
                p.annex_header_path(dir.path(), ANNEX_ATB),
                "<VAP_Quantification_Value>0.05<",
                "<VAP_Quantification_Value>0.0505<",
            ),
            (
                p.annex_header_path(dir.path(), ANNEX_QLT),
                "<Data_Type>UNSIGNED_SHORT<",
                "<Data_Type>UNSIGNED_INT<",
            ),
            (
                p.image_header_path(dir.path(), IMAGE_SRE),
                "<Reference_Product_Semantic>L2VALD<",
                "<Reference_Product_Semantic>L2GOOD<",
            ),
        ];
        assert_breakages_rejected(&breakages);
    }

    #[test]
    fn invalid_models_are_refused_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let mut bad = Vec::new();
        let mut p = sample();
        p.processing_mode = "FAST_MODE".into();
        bad.push(p);
        let mut p = sample();
        p.used_products.clear();
        bad.push(p);
        let mut p = sample();
        p.vap_quantification = 0.0505;
        bad.push(p);
        let mut p = sample();
        p.aot_quantification = 0.0;
        bad.push(p);
        let mut p = sample();
        p.site.nick = "CAMARGU".into();
        bad.push(p);
        for p in bad {
            assert!(p.write_headers(dir.path()).is_err(), "{p:?}");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn write_then_open_gives_the_same_model() {
        let dir = tempfile::tempdir().unwrap();
        let p = sample();
        let hdr = p.write_headers(dir.path()).unwrap();
        touch_rasters(&p, dir.path());
        assert_eq!(L2a::open(&hdr).unwrap(), p);
        let mut q = sample();
        q.site.cloud_percentage = None;
        q.site.dem_stats = None;
        q.site.orbit = None;
        q.site.aks.truncate(3);
        q.used_products.truncate(1);
        q.processing_mode = "BACKWARD_MODE".into();
        q.adjacency_and_slope = false;
        q.vap_quantification = 0.1;
        q.aot_nodata = 255;
        let dir2 = tempfile::tempdir().unwrap();
        let hdr2 = q.write_headers(dir2.path()).unwrap();
        touch_rasters(&q, dir2.path());
        assert_eq!(L2a::open(&hdr2).unwrap(), q);
    }

    #[test]
    fn a_missing_file_is_bad_input_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = sample();
        let hdr = p.write_headers(dir.path()).unwrap();
        touch_rasters(&p, dir.path());
        for gone in [
            p.annex_path(dir.path(), ANNEX_QLT),
            p.annex_header_path(dir.path(), ANNEX_CLD),
            p.image_path(dir.path(), IMAGE_FRE),
            p.image_header_path(dir.path(), IMAGE_SRE),
            hdr.clone(),
        ] {
            std::fs::remove_file(&gone).unwrap();
            let e = L2a::open(&hdr).unwrap_err();
            assert_eq!(e.exit_code(), 3);
            assert!(e.to_string().contains(gone.to_str().unwrap()), "{e}");
        }
    }

    #[test]
    fn a_header_of_another_type_is_bad_input_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let l1c = super::super::l1c::tests::sample();
        let hdr = l1c.write_headers(dir.path()).unwrap();
        let e = L2a::open(&hdr).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        let msg = e.to_string();
        assert!(
            msg.contains(hdr.to_str().unwrap()) && msg.contains("VSC_L2VALD"),
            "{msg}"
        );
        // An L2A annex header given as the product: also named.
        let p = sample();
        p.write_headers(dir.path()).unwrap();
        let atb = p.annex_header_path(dir.path(), ANNEX_ATB);
        let e = L2a::open(&atb).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains(atb.to_str().unwrap()), "{e}");
    }
}
