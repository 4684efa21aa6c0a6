//! L3A product: a weighted-average synthesis of the clear L2A flat reflectances of one site
//! over a window of days around a central date, as the CNES WASP processor makes the Theia
//! L3A; written by `vip-maccs l3`. It follows the ICD L3 published product
//! (`VE_VSC_PDT_L3_L3PublishedProduct.xsd`), file semantic `L3VALD`.
//!
//! Files, for class `c`, site nick `NICK` (8 characters) and central date `D` (`yyyymmdd`):
//! ```text
//! VE_c_VSC_L3VALD_NICK_D.HDR               global header, PDT_L3_Header_Type (File_Type
//!                                          VSC_L3VALD, schema_version 0.42): site, grid,
//!                                          cloud %, quantification, GIPPs used, file list,
//!                                          the central L2A (DEM, Aks, processing mode, ...)
//!                                          and every L2A used (date, angles, cloud %, id)
//! VE_c_VSC_L3VALD_NICK_D.DBL.DIR/
//!   VE_c_VSC_PDTIMG_L3VALD_NICK_D_FRE.HDR / .DBL.TIF   int16, 12 bands B01..B12: weighted
//!                         average of the flat (slope-corrected) surface reflectances,
//!                         ρ / Reflectance_Quantification_Value (0.001 ⇒ ρ×1000), Nodata_Value
//!                         −10000 (WASP:Common/include/GlobalDefs.h)
//!   VE_c_VSC_PDTANX_L3VALD_NICK_D_QLT.HDR / .DBL.TIF   int16 (SIGNED_SHORT), 4 bands:
//!       1 PXD  weighted-average date, days from the central date (signed); PXD_NODATA −32768
//!              where no observation was averaged (the annex's Nodata_Value)
//!       2 WGT  sum of the weights × WEIGHT_QUANTIFICATION (1000, WASP's quantification of
//!              its WGT, WASP:Common/include/GlobalDefs.h); 0 where none
//!       3 NBD  number of dates averaged (clear observations used)
//!       4 SAT  bit n−1 set when band Bn was saturated in an observation used
//!   VE_c_VSC_PDTANX_L3VALD_NICK_D_MSK.HDR / .DBL.TIF   uint8, 1 band FLG: the pixel status,
//!                         WASP's FLG values (not bits, [`flags`],
//!                         WASP:UpdateSynthesis/include/UpdateSynthesisFunctor.h): 0 no data,
//!                         1 cloud, 2 snow, 3 water, 4 land, 5 cloud shadow, 6 saturated
//!   VE_c_VSC_PDTQLK_L3VALD_NICK_D.HDR / .DBL.JPG       3-band JPEG quicklook (same header as
//!                                                      the L1C's), when the product has one
//! ```
//! **Band codes.** The ICD's band code list (`VE_Channel_Code_Type`) has no WGT, NBD or FLG:
//! the annex headers list the QLT bands as [`QLT_HEADER_BANDS`] (`PXD OTH OTH SAT`) and the
//! MSK band as [`MSK_HEADER_BANDS`] (`MSK`, the code of a one-band annex, as in the L2A),
//! and say which is which in their `Notes`; the rasters' band descriptions are the names
//! above ([`QLT_BANDS`], [`MSK_BANDS`]).
//!
//! **Dates.** Every header's `Validity_Period` is the synthesis window, from the central date
//! minus the half window to the central date plus the half window, both at 00:00:00; the half
//! window is read back from it. The global `Notes` say it in words (`weighted-average
//! synthesis of 5 L2A, half window 11 days`). As the ICD defines it for L3 products,
//! `Acquisition_Date_Time` and `Acquisition_Orbit_Number` of `Product_Information` are those
//! of the first L2A used.
//!
//! **L2A used.** `Input_L2_Product_Information_Central_Date` describes the central L2A (the
//! one nearest the central date): its processing date and GIPPs, footprint, grid, DEM, Aks,
//! processing mode and adjacency/slope flag; the sun and viewing angles of `Product_Information`
//! are its own too. `Input_L2_Product_Information_All_Dates` lists every L2A averaged, in
//! date order: date and time, orbit, sun and viewing angles at the image centre (the viewing
//! angles of tri-detector 3, the one the schema names), cloud percentage (a whole percent:
//! the schema types it as a non-negative integer) and its id in `List_of_Used_Product_Ids`.

use std::path::{Path, PathBuf};

use chrono::{Days, NaiveDate, NaiveDateTime};

pub use super::common::QuicklookInfo;
use super::common::{
    boolean, dec, jpeg_beside, must_exist, processing_information, raster_beside, raster_format,
    raster_size, subsampling, unit, utc_fraction, wavelengths, HeaderWriter, Reader, SiteHeader,
};
use super::l2a::L2a;
pub use super::l2a::{IMAGE_BANDS, PROCESSING_MODES};
use crate::ee::ProductId;
use crate::ee::{EeDoc, Layout, Node};
use crate::error::{Result, VipError};

/// File semantic of a valid L3 product.
pub const SEMANTIC: &str = "L3VALD";
/// `File_Type` of the global header.
pub const FILE_TYPE: &str = "VSC_L3VALD";
/// Image code of the synthesised flat reflectance.
pub const IMAGE_FRE: &str = "FRE";
/// Annex code of the synthesis figures (date, weight, number of dates, saturation).
pub const ANNEX_QLT: &str = "QLT";
/// Annex code of the pixel status.
pub const ANNEX_MSK: &str = "MSK";
/// Every annex of the product, in the order of the global header.
pub const ANNEXES: [&str; 2] = [ANNEX_QLT, ANNEX_MSK];
/// Bands of the QLT annex, in file order (the rasters' band descriptions).
pub const QLT_BANDS: [&str; 4] = ["PXD", "WGT", "NBD", "SAT"];
/// The codes the QLT header lists for [`QLT_BANDS`]: the ICD has no code for WGT and NBD.
pub const QLT_HEADER_BANDS: [&str; 4] = ["PXD", "OTH", "OTH", "SAT"];
/// 1-based raster band of the weighted-average date in the QLT annex.
pub const QLT_PXD_BAND: usize = 1;
/// 1-based raster band of the weight sum in the QLT annex.
pub const QLT_WGT_BAND: usize = 2;
/// 1-based raster band of the number of dates in the QLT annex.
pub const QLT_NBD_BAND: usize = 3;
/// 1-based raster band of the saturation bits in the QLT annex (bit n−1 = band Bn).
pub const QLT_SAT_BAND: usize = 4;
/// The band of the MSK annex (the raster's band description).
pub const MSK_BANDS: [&str; 1] = ["FLG"];
/// The code the MSK header lists for [`MSK_BANDS`]: the ICD has no FLG code.
pub const MSK_HEADER_BANDS: [&str; 1] = ["MSK"];
/// QLT PXD value where no observation was averaged (also the annex's `Nodata_Value`).
pub const PXD_NODATA: i16 = -32768;
/// QLT WGT count of a weight sum of 1 (WASP's quantification of its WGT output).
pub const WEIGHT_QUANTIFICATION: f64 = 1000.0;

const GLOBAL_SCHEMA_VERSION: &str = "0.42";
/// Unit written for the annexes (`Values_Unit`).
const ANNEX_UNIT: &str = "NONE";

/// Values of the MSK annex's FLG band (one status per pixel, not bits), WASP's
/// (`WASP:UpdateSynthesis/include/UpdateSynthesisFunctor.h`).
pub mod flags {
    /// Never observed.
    pub const NO_DATA: u8 = 0;
    /// Never seen clear: cloud.
    pub const CLOUD: u8 = 1;
    /// Snow.
    pub const SNOW: u8 = 2;
    /// Water.
    pub const WATER: u8 = 3;
    /// Land: clear observations averaged.
    pub const LAND: u8 = 4;
    /// Never seen clear: cloud shadow.
    pub const SHADOW: u8 = 5;
    /// Saturated.
    pub const SATURATED: u8 = 6;
}

/// One L2A used by the synthesis (an entry of `Input_L2_Product_Information_All_Dates`).
#[derive(Debug, Clone, PartialEq)]
pub struct L3aInput {
    /// Its global id, `VE_<class>_VSC_L2VALD_<nick>_<yyyymmdd>`.
    pub id: String,
    /// Acquisition date (the date in its id).
    pub date: NaiveDate,
    /// Acquisition time at the scene centre.
    pub acquisition: NaiveDateTime,
    /// Absolute orbit number; `None` for `NIL=N/A`.
    pub orbit: Option<u32>,
    /// Sun (zenith, azimuth) at the image centre, degrees; ≤ 6 decimals.
    pub sun_centre: (f64, f64),
    /// Viewing (zenith, azimuth) of tri-detector 3 at the image centre, degrees; ≤ 6 decimals.
    pub view_centre: (f64, f64),
    /// Cloudy pixels, whole percent (the schema's integer).
    pub cloud_percentage: u32,
}

/// An L3A product (header model; the pixels are in the files it names).
#[derive(Debug, Clone, PartialEq)]
pub struct L3a {
    /// Names, acquisition, grid, angles, DEM, quantification and provenance.
    pub site: SiteHeader,
    /// The window is `date` ± this many days.
    pub half_window_days: u32,
    /// The L2As averaged, in date order (≥ 1).
    pub inputs: Vec<L3aInput>,
    /// Processing mode of the central L2A, one of [`PROCESSING_MODES`].
    pub processing_mode: String,
    /// Whether the central L2A was corrected for adjacency effects and slopes.
    pub adjacency_and_slope: bool,
    /// When the central L2A was made (its creation time).
    pub central_processing: NaiveDateTime,
    /// GIPPs the central L2A used.
    pub central_gipps_used: Vec<(String, String)>,
    /// The quicklook, when the product has one.
    pub quicklook: Option<QuicklookInfo>,
}

impl L3a {
    fn ids(&self) -> ProductId {
        self.site.id(SEMANTIC)
    }

    /// The headers' writer of the product.
    pub(crate) fn header(&self) -> HeaderWriter<'_> {
        HeaderWriter {
            site: &self.site,
            ids: self.ids(),
        }
    }

    /// The L3A of central date `date` and window `date` ± `half_window_days` made of `inputs`
    /// (date order), on the site, grid and reflectance coding of `central`, the input L2A
    /// nearest the central date, whose angles, footprint, DEM, Aks and processing it
    /// describes. The synthesis sets the rest: `cloud_percentage` (0 here), `gipps_used`
    /// (none here) and `quicklook` (none here). Creation is now (or `SOURCE_DATE_EPOCH`) by
    /// `vip-maccs`.
    pub fn new(
        central: &L2a,
        date: NaiveDate,
        half_window_days: u32,
        inputs: Vec<L3aInput>,
    ) -> L3a {
        let first = inputs.first();
        L3a {
            site: SiteHeader {
                date,
                acquisition: first.map_or_else(|| midnight(date), |i| i.acquisition),
                orbit: first.and_then(|i| i.orbit),
                cloud_percentage: Some(0.0),
                gipps_used: vec![],
                angle_grid_step_m: central.site.pixel_m,
                creation: crate::ee::header::creation_time(),
                creator: "vip-maccs".into(),
                creator_version: env!("CARGO_PKG_VERSION").into(),
                ..central.site.clone()
            },
            half_window_days,
            inputs,
            processing_mode: central.processing_mode.clone(),
            adjacency_and_slope: central.adjacency_and_slope,
            central_processing: central.site.creation,
            central_gipps_used: central.site.gipps_used.clone(),
            quicklook: None,
        }
    }

    /// The entry of `l2a` in the list of L2As used: its id, date, acquisition, orbit, the sun
    /// angles and the viewing angles of tri-detector 3 (the schema's) at the image centre,
    /// and its cloud percentage rounded to a whole percent (0 when it states none: the
    /// schema has no "not available" there).
    pub fn input_of(l2a: &L2a) -> L3aInput {
        const CENTRE: usize = 4;
        const DETECTOR_3: usize = 2;
        let view = &l2a.site.view[DETECTOR_3];
        L3aInput {
            id: l2a.global_id(),
            date: l2a.site.date,
            acquisition: l2a.site.acquisition,
            orbit: l2a.site.orbit,
            sun_centre: (l2a.site.sun.zenith[CENTRE], l2a.site.sun.azimuth[CENTRE]),
            view_centre: (view.zenith[CENTRE], view.azimuth[CENTRE]),
            cloud_percentage: l2a
                .site
                .cloud_percentage
                .map_or(0, |c| c.clamp(0.0, 100.0).round() as u32),
        }
    }

    /// The product id, `VE_<class>_VSC_L3VALD_<nick>_<yyyymmdd>` (central date).
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

    /// The header of the FRE image: `…DBL.DIR/VE_<class>_VSC_PDTIMG_L3VALD_<inst>_FRE.HDR`.
    pub fn image_header_path(&self, dir: &Path) -> PathBuf {
        self.ids().image_header(dir, Some(IMAGE_FRE))
    }

    /// The 12-band FRE raster: `…_FRE.DBL.TIF`.
    pub fn image_path(&self, dir: &Path) -> PathBuf {
        raster_beside(&self.image_header_path(dir))
    }

    /// The header of annex `code` ([`ANNEX_QLT`], [`ANNEX_MSK`]):
    /// `…DBL.DIR/VE_<class>_VSC_PDTANX_L3VALD_<inst>_<code>.HDR`.
    pub fn annex_header_path(&self, dir: &Path, code: &str) -> PathBuf {
        self.ids().annex_header(dir, code)
    }

    /// The raster of annex `code`: `…_<code>.DBL.TIF`.
    pub fn annex_path(&self, dir: &Path, code: &str) -> PathBuf {
        raster_beside(&self.annex_header_path(dir, code))
    }

    /// The quicklook header: `…DBL.DIR/VE_<class>_VSC_PDTQLK_L3VALD_<inst>.HDR`.
    pub fn quicklook_header_path(&self, dir: &Path) -> PathBuf {
        self.ids().quicklook_header(dir)
    }

    /// The quicklook JPEG: `…_PDTQLK_L3VALD_<inst>.DBL.JPG`.
    pub fn quicklook_path(&self, dir: &Path) -> PathBuf {
        jpeg_beside(&self.quicklook_header_path(dir))
    }

    /// First and last day of the window, at 00:00:00.
    fn window(&self) -> Option<(NaiveDateTime, NaiveDateTime)> {
        let h = Days::new(u64::from(self.half_window_days));
        Some((
            midnight(self.site.date.checked_sub_days(h)?),
            midnight(self.site.date.checked_add_days(h)?),
        ))
    }

    /// The global header's `Notes`: what was averaged over which window.
    pub fn notes(&self) -> String {
        format!(
            "weighted-average synthesis of {} L2A, half window {} days",
            self.inputs.len(),
            self.half_window_days
        )
    }

    /// Refuses a model whose headers the schemas would reject or that contradicts itself.
    fn check(&self, site: &HeaderWriter) -> Result<()> {
        site.check()?;
        let bad = |m: String| Err(VipError::Internal(m));
        let Some((start, stop)) = self.window() else {
            return bad(format!(
                "half window {} days outside the calendar",
                self.half_window_days
            ));
        };
        let (Some(first), Some(last)) = (self.inputs.first(), self.inputs.last()) else {
            return bad(format!(
                "{}: an L3A averages at least one L2A",
                self.global_id()
            ));
        };
        if (self.site.acquisition, self.site.orbit) != (first.acquisition, first.orbit) {
            return bad(format!(
                "acquisition {} and orbit {:?} are not those of the first input {}",
                self.site.acquisition, self.site.orbit, first.id
            ));
        }
        if let Some(w) = self.inputs.windows(2).find(|w| w[0].date >= w[1].date) {
            return bad(format!(
                "L2A inputs not in date order: {} then {}",
                w[0].date, w[1].date
            ));
        }
        if first.date < start.date() || last.date > stop.date() {
            return bad(format!(
                "L2A inputs {} to {} outside the window {} to {}",
                first.date,
                last.date,
                start.date(),
                stop.date()
            ));
        }
        for i in &self.inputs {
            let date = i.date.format("%Y%m%d").to_string();
            if !(i.id.starts_with("VE_") && i.id.contains("_VSC_L2") && i.id.ends_with(&date)) {
                return bad(format!(
                    "'{}' is not the id of an L2 product of {date}",
                    i.id
                ));
            }
            if i.cloud_percentage > 100 {
                return bad(format!(
                    "{}: cloud percentage {} %",
                    i.id, i.cloud_percentage
                ));
            }
        }
        match self.site.cloud_percentage {
            Some(c) if (0.0..=100.0).contains(&c) => {}
            c => return bad(format!("cloud percentage {c:?} %")),
        }
        if !PROCESSING_MODES.contains(&self.processing_mode.as_str()) {
            return bad(format!(
                "processing mode '{}' is not one of {}",
                self.processing_mode,
                PROCESSING_MODES.join(", ")
            ));
        }
        if let Some(q) = &self.quicklook {
            if q.factor == 0 || q.lines == 0 || q.cols == 0 {
                return bad(format!("empty quicklook {q:?}"));
            }
        }
        Ok(())
    }

    /// Sets the validity of a header of the product to the window.
    fn dated(&self, mut doc: EeDoc) -> EeDoc {
        if let Some((start, stop)) = self.window() {
            doc.fixed.validity_start = start;
            doc.fixed.validity_stop = stop;
        }
        doc
    }

    /// Writes the global header, the FRE image header, the QLT and MSK annex headers and,
    /// when the product has one, the quicklook header into `dir` (creating the `.DBL.DIR`);
    /// the rasters are written by the caller at [`L3a::image_path`], [`L3a::annex_path`] and
    /// [`L3a::quicklook_path`]. Returns the global header path.
    pub fn write_headers(&self, dir: &Path) -> Result<PathBuf> {
        let site = self.header();
        self.check(&site)?;
        let dbl = self.dbl_dir(dir);
        std::fs::create_dir_all(&dbl).map_err(|e| VipError::output_io(&dbl, &e))?;
        let fre = site.image_doc(
            site.ids.image(Some(IMAGE_FRE)),
            site.image_information(&IMAGE_BANDS),
        );
        self.dated(fre).write(&self.image_header_path(dir))?;
        for (code, data_type, bits, nodata, bands, notes) in [
            (
                ANNEX_QLT,
                "SIGNED_SHORT",
                16,
                PXD_NODATA.to_string(),
                &QLT_HEADER_BANDS[..],
                format!(
                    "bands PXD (weighted-average date, days from the central date, nodata {PXD_NODATA}), \
                     WGT (sum of the weights x {}), NBD (number of dates averaged), \
                     SAT (bit n-1: band Bn saturated in a date averaged), listed as {}",
                    WEIGHT_QUANTIFICATION,
                    QLT_HEADER_BANDS.join(" ")
                ),
            ),
            (
                ANNEX_MSK,
                "UNSIGNED_BYTE",
                3,
                flags::NO_DATA.to_string(),
                &MSK_HEADER_BANDS[..],
                format!(
                    "band FLG (pixel status: 0 no data, 1 cloud, 2 snow, 3 water, 4 land, \
                     5 cloud shadow, 6 saturated), listed as {}",
                    MSK_HEADER_BANDS[0]
                ),
            ),
        ] {
            let info = Node::new("Annex_Information")
                .children(raster_format(data_type, bits))
                .child(Node::text("Nodata_Value", nodata))
                .children(raster_size(self.site.lines, self.site.cols, bands))
                .child(subsampling(1.0))
                .child(Node::text("Values_Unit", ANNEX_UNIT));
            let mut doc = self.dated(site.annex_doc(code, "Other", info));
            doc.fixed.notes = notes;
            doc.write(&self.annex_header_path(dir, code))?;
        }
        if let Some(q) = &self.quicklook {
            self.dated(site.quicklook_doc(q))
                .write(&self.quicklook_header_path(dir))?;
        }
        let hdr = self.header_path(dir);
        self.global_doc(&site).write(&hdr)?;
        Ok(hdr)
    }

    /// `Input_L2_Product_Information_Central_Date`, its generic parts taken from `l2_info`
    /// (the site's `Product_Information` as an L2's).
    fn central_doc(&self, site: &HeaderWriter, mut l2_info: Node) -> Node {
        let mut take = |name: &str| match l2_info.children.iter().position(|c| c.name == name) {
            Some(i) => l2_info.children.remove(i),
            None => Node::new(name),
        };
        Node::new("Input_L2_Product_Information_Central_Date")
            .child(Node::text("Product_Level", "L2"))
            .child(Node::text("Nick_Name", &self.site.nick))
            .child(processing_information(
                self.central_processing,
                &self.central_gipps_used,
            ))
            .child(take("Web_Site_URL"))
            .child(take("Useful_Image_Geo_Coverage"))
            .child(take("Viewing_Angles_In_Satellite_Frame"))
            .child(wavelengths())
            .child(take("Product_Sampling"))
            .child(take("Used_DEM"))
            .child(take("List_of_Aks"))
            .child(
                Node::new("Processing_Flags_And_Modes")
                    .child(Node::text("Processing_Mode", &self.processing_mode))
                    .child(boolean(
                        "Adjacency_Effects_And_Slope_Correction",
                        self.adjacency_and_slope,
                    )),
            )
            .child(site.image_information(&IMAGE_BANDS))
    }

    /// `Input_L2_Product_Information_All_Dates`: one entry per input, `sn` 1..n.
    fn inputs_doc(&self) -> Node {
        let centre = |name: &str, (zenith, azimuth): (f64, f64)| {
            Node::new(name).child(
                Node::new("Useful_Image").child(
                    Node::new("Image_Center")
                        .child(unit("Azimuth", dec(azimuth, 6), "deg"))
                        .child(unit("Zenith", dec(zenith, 6), "deg")),
                ),
            )
        };
        Node::list(
            "Input_L2_Product_Information_All_Dates",
            self.inputs
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    Node::new("Input_L2_Product_Information")
                        .attr("sn", i + 1)
                        .child(Node::text("Acquisition_Date", x.date.format("%Y%m%d")))
                        .child(Node::text(
                            "Acquisition_Date_Time",
                            utc_fraction(x.acquisition),
                        ))
                        .child(unit(
                            "Acquisition_Orbit_Number",
                            x.orbit.map_or("NIL=N/A".to_string(), |o| o.to_string()),
                            "abs",
                        ))
                        .child(centre("Solar_Angle", x.sun_centre))
                        .child(centre("Viewing_Angle", x.view_centre))
                        .child(Node::text("Cloud_Percentage", x.cloud_percentage))
                        .child(Node::list(
                            "List_of_Used_Product_Ids",
                            vec![Node::text("Used_Product_Id", &x.id).attr("sn", 1)],
                        ))
                })
                .collect(),
        )
    }

    fn global_doc(&self, site: &HeaderWriter) -> EeDoc {
        let ids = &site.ids;
        // The L3's Product_Information is the generic one with the site id, cloud percentage
        // and quantification; the DEM and Aks belong to the central L2A's.
        let mut info = site.product_information("L3");
        info.children
            .retain(|c| c.name != "Used_DEM" && c.name != "List_of_Aks");
        let central = self.central_doc(site, site.product_information("L2"));
        let mut organization = Node::new("Product_Organization").child(site.file_ref(
            "Image_File",
            "VSC_PDTIMG",
            &ids.image(Some(IMAGE_FRE)),
        ));
        if self.quicklook.is_some() {
            organization =
                organization.child(site.file_ref("Quicklook_File", "VSC_PDTQLK", &ids.quicklook()));
        }
        organization = organization.child(site.annex_list(&ANNEXES));
        let mut fixed = site.fixed(ids.to_string(), "L3PublishedProduct", FILE_TYPE);
        fixed.notes = self.notes();
        self.dated(EeDoc {
            layout: Layout::Header,
            xsi_type: "PDT_L3_Header_Type".into(),
            schema_version: GLOBAL_SCHEMA_VERSION.into(),
            fixed,
            extensions: vec![],
            specific: Node::new("Specific_Product_Header")
                .child(
                    Node::new("Instance_Id")
                        .child(Node::text("Nick_Name", &ids.nick))
                        .child(Node::text("Central_Date", ids.date.format("%Y%m%d"))),
                )
                .child(info)
                .child(site.image_information(&IMAGE_BANDS))
                .child(site.geo_referencing())
                .child(organization)
                .child(
                    Node::new("L2_Products_Information")
                        .child(central)
                        .child(self.inputs_doc()),
                ),
            data_block: None,
        })
    }

    /// Reads an L3A from its global header, checking that it is a `VSC_L3VALD` EE header and
    /// that the FRE image, the QLT and MSK annexes and the quicklook it lists (headers and
    /// rasters) exist. The half window comes from the `Validity_Period`, which must be
    /// centred on the central date.
    pub fn open(hdr: &Path) -> Result<L3a> {
        let doc = EeDoc::read(hdr)?;
        doc.expect_type(FILE_TYPE, hdr)?;
        let r = Reader::new(hdr);
        let base = hdr.parent().unwrap_or(Path::new("."));
        let sph = &doc.specific;
        let info = r.node(sph, "Product_Information")?;
        let org = r.node(sph, "Product_Organization")?;
        let central = r.node(
            sph,
            "L2_Products_Information/Input_L2_Product_Information_Central_Date",
        )?;
        let all = r.node(
            sph,
            "L2_Products_Information/Input_L2_Product_Information_All_Dates",
        )?;

        let suffix = format!("_{IMAGE_FRE}");
        let image = org
            .all("Image_File")
            .find(|f| {
                f.find_text("Logical_Name")
                    .is_some_and(|n| n.ends_with(&suffix))
            })
            .ok_or_else(|| r.bad(format!("no {IMAGE_FRE} Image_File in Product_Organization")))?;
        must_exist(
            &raster_beside(&r.located(base, image)?),
            &format!("{IMAGE_FRE} image"),
        )?;
        for code in ANNEXES {
            r.annex(base, org, code)?;
        }
        let quicklook = r.quicklook(base, org, "L3A quicklook")?;

        let date = r.date(sph, "Instance_Id/Central_Date")?;
        let (start, stop) = (doc.fixed.validity_start, doc.fixed.validity_stop);
        let half = (date - start.date()).num_days();
        let half_window_days = u32::try_from(half)
            .ok()
            .filter(|_| {
                start == midnight(start.date()) && stop == start + (date - start.date()) * 2
            })
            .ok_or_else(|| {
                r.bad(format!(
                    "Validity_Period {start} to {stop} is not a window of whole days centred on \
                     the central date {date}"
                ))
            })?;

        let inputs = all
            .all("Input_L2_Product_Information")
            .map(|n| {
                let centre = |name: &str| -> Result<(f64, f64)> {
                    let c = r.node(n, &format!("{name}/Useful_Image/Image_Center"))?;
                    Ok((r.f64(c, "Zenith")?, r.f64(c, "Azimuth")?))
                };
                let cloud = r.text(n, "Cloud_Percentage")?;
                Ok(L3aInput {
                    id: r
                        .text(n, "List_of_Used_Product_Ids/Used_Product_Id")?
                        .to_string(),
                    date: r.date(n, "Acquisition_Date")?,
                    acquisition: r.utc(n, "Acquisition_Date_Time")?,
                    orbit: r.orbit(n)?,
                    sun_centre: centre("Solar_Angle")?,
                    view_centre: centre("Viewing_Angle")?,
                    cloud_percentage: cloud.parse().map_err(|_| {
                        r.bad(format!(
                            "input Cloud_Percentage '{cloud}' is not a whole percent"
                        ))
                    })?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        if inputs.is_empty() {
            return Err(r.bad("Input_L2_Product_Information_All_Dates is empty"));
        }

        let flags = r.node(central, "Processing_Flags_And_Modes")?;
        let mode = r.text(flags, "Processing_Mode")?;
        if !PROCESSING_MODES.contains(&mode) {
            return Err(r.bad(format!(
                "Processing_Mode '{mode}' is not one of {}",
                PROCESSING_MODES.join(", ")
            )));
        }
        let g = r.grid(sph)?;
        let (dem_reference, dem_stats) = r.dem(central)?;
        let first = inputs.first();
        Ok(L3a {
            site: SiteHeader {
                class: doc.fixed.file_class.clone(),
                nick: r.text(sph, "Instance_Id/Nick_Name")?.to_string(),
                date,
                acquisition: first.map_or_else(|| midnight(date), |i| i.acquisition),
                orbit: first.and_then(|i| i.orbit),
                epsg: g.epsg,
                ulx: g.ulx,
                uly: g.uly,
                pixel_m: g.pixel_m,
                lines: g.lines,
                cols: g.cols,
                quantification: r.f64(info, "Reflectance_Quantification_Value")?,
                nodata: g.nodata,
                gipps_used: r.gipps(info)?,
                sun: r.angles(r.node(info, "Solar_Angles/Useful_Image")?)?,
                view: r.viewing_angles(info)?,
                view_in_satellite_frame: r.satellite_frame(info)?,
                corners_lonlat: r.coverage(info)?,
                cloud_percentage: Some(
                    r.cloud_percentage(info)?
                        .ok_or_else(|| r.bad("Cloud_Percentage is not given"))?,
                ),
                dem_reference,
                dem_stats,
                aks: r.aks(central)?,
                angle_grid_step_m: g.pixel_m,
                creation: doc.fixed.creation_date,
                creator: doc.fixed.creator.clone(),
                creator_version: doc.fixed.creator_version.clone(),
            },
            half_window_days,
            inputs,
            processing_mode: mode.to_string(),
            adjacency_and_slope: r.bool(flags, "Adjacency_Effects_And_Slope_Correction")?,
            central_processing: r.utc(central, "Processing_Information/Date_Time")?,
            central_gipps_used: r.gipps(central)?,
            quicklook,
        })
    }
}

/// `d` at 00:00:00.
fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(0, 0, 0).expect("midnight exists")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").unwrap()
    }

    /// The L2A sample of 2018-01-02 as the central one of three inputs (2017-12-28,
    /// 2018-01-02, 2018-01-06), central date 2018-01-03, half window 11 days.
    fn sample() -> L3a {
        let central = super::super::l2a::tests::sample();
        let mut before = L3a::input_of(&central);
        before.id = "VE_TEST_VSC_L2VALD_CAMARGUE_20171228".into();
        before.date = d("2017-12-28");
        before.acquisition = t("2017-12-28T10:50:02.5");
        before.orbit = Some(1190);
        before.sun_centre = (68.25, 159.123456);
        before.cloud_percentage = 64;
        let mut after = L3a::input_of(&central);
        after.id = "VE_TEST_VSC_L2VALD_CAMARGUE_20180106".into();
        after.date = d("2018-01-06");
        after.acquisition = t("2018-01-06T10:53:11");
        after.orbit = None;
        after.view_centre = (12.0, 284.5);
        after.cloud_percentage = 0;
        let inputs = vec![before, L3a::input_of(&central), after];
        let mut p = L3a::new(&central, d("2018-01-03"), 11, inputs);
        p.site.cloud_percentage = Some(3.7);
        p.site.gipps_used = vec![(
            "GIP_L3COMM".into(),
            "VE_TEST_GIP_L3COMM_L_ALLSITES_00001_20170801_99991231".into(),
        )];
        p.quicklook = Some(QuicklookInfo {
            bands: ["B07".into(), "B04".into(), "B03".into()],
            factor: 10,
            lines: 275,
            cols: 270,
        });
        p.site.creation = t("2024-11-25T08:30:00");
        p.site.creator_version = "0.1.0".into();
        p
    }

    fn header_paths(p: &L3a, dir: &Path) -> Vec<PathBuf> {
        let mut v = vec![p.header_path(dir), p.image_header_path(dir)];
        v.extend(ANNEXES.map(|c| p.annex_header_path(dir, c)));
        if p.quicklook.is_some() {
            v.push(p.quicklook_header_path(dir));
        }
        v
    }

    /// Empty placeholders where the rasters go.
    fn touch_rasters(p: &L3a, dir: &Path) {
        std::fs::write(p.image_path(dir), b"").unwrap();
        for code in ANNEXES {
            std::fs::write(p.annex_path(dir, code), b"").unwrap();
        }
        if p.quicklook.is_some() {
            std::fs::write(p.quicklook_path(dir), b"").unwrap();
        }
    }

    use super::super::common::testing::{assert_breakages_rejected, validate};

    #[test]
    fn new_takes_the_site_and_central_l2a_and_input_of_its_centre_angles() {
        let central = super::super::l2a::tests::sample();
        let p = sample();
        assert_eq!(
            (
                p.site.class.as_str(),
                p.site.nick.as_str(),
                p.site.date,
                p.half_window_days
            ),
            ("TEST", "CAMARGUE", d("2018-01-03"), 11)
        );
        assert_eq!(
            (
                p.site.epsg,
                p.site.ulx,
                p.site.uly,
                p.site.pixel_m,
                p.site.lines,
                p.site.cols
            ),
            (32631, 624_000.0, 4_840_000.0, 10.0, 2750, 2700)
        );
        assert_eq!((p.site.quantification, p.site.nodata), (0.001, -10000));
        assert_eq!(
            (p.site.sun, p.site.view),
            (central.site.sun, central.site.view)
        );
        assert_eq!(p.processing_mode, "STANDARD_MODE");
        assert!(p.adjacency_and_slope);
        assert_eq!(
            (p.central_processing, &p.central_gipps_used),
            (central.site.creation, &central.site.gipps_used)
        );
        assert_eq!(p.site.creator, "vip-maccs");
        let i = L3a::input_of(&central);
        assert_eq!(i.id, "VE_TEST_VSC_L2VALD_CAMARGUE_20180102");
        assert_eq!(
            (i.date, i.acquisition),
            (central.site.date, central.site.acquisition)
        );
        assert_eq!(i.sun_centre, (67.25, 158.512345));
        // tri-detector 3's centre (the sample's detectors differ there)
        assert_eq!(i.view_centre, (3.5, 105.123456));
        assert_eq!(i.cloud_percentage, 7);
        let mut none = central.clone();
        none.site.cloud_percentage = None;
        assert_eq!(L3a::input_of(&none).cloud_percentage, 0);
    }

    #[test]
    fn names_follow_the_layout() {
        let p = sample();
        let o = Path::new("o");
        let dbl = Path::new("o/VE_TEST_VSC_L3VALD_CAMARGUE_20180103.DBL.DIR");
        assert_eq!(p.global_id(), "VE_TEST_VSC_L3VALD_CAMARGUE_20180103");
        assert_eq!(
            p.header_path(o),
            Path::new("o/VE_TEST_VSC_L3VALD_CAMARGUE_20180103.HDR")
        );
        assert_eq!(p.dbl_dir(o), dbl);
        assert_eq!(
            p.image_header_path(o),
            dbl.join("VE_TEST_VSC_PDTIMG_L3VALD_CAMARGUE_20180103_FRE.HDR")
        );
        assert_eq!(
            p.image_path(o),
            dbl.join("VE_TEST_VSC_PDTIMG_L3VALD_CAMARGUE_20180103_FRE.DBL.TIF")
        );
        for code in ["QLT", "MSK"] {
            assert_eq!(
                p.annex_header_path(o, code),
                dbl.join(format!(
                    "VE_TEST_VSC_PDTANX_L3VALD_CAMARGUE_20180103_{code}.HDR"
                ))
            );
            assert_eq!(
                p.annex_path(o, code),
                dbl.join(format!(
                    "VE_TEST_VSC_PDTANX_L3VALD_CAMARGUE_20180103_{code}.DBL.TIF"
                ))
            );
        }
        assert_eq!(
            p.quicklook_header_path(o),
            dbl.join("VE_TEST_VSC_PDTQLK_L3VALD_CAMARGUE_20180103.HDR")
        );
        assert_eq!(
            p.quicklook_path(o),
            dbl.join("VE_TEST_VSC_PDTQLK_L3VALD_CAMARGUE_20180103.DBL.JPG")
        );
        assert_eq!(QLT_BANDS[QLT_PXD_BAND - 1], "PXD");
        assert_eq!(QLT_BANDS[QLT_WGT_BAND - 1], "WGT");
        assert_eq!(QLT_BANDS[QLT_NBD_BAND - 1], "NBD");
        assert_eq!(QLT_BANDS[QLT_SAT_BAND - 1], "SAT");
        assert_eq!(QLT_HEADER_BANDS.len(), QLT_BANDS.len());
        assert_eq!(MSK_HEADER_BANDS.len(), MSK_BANDS.len());
        // WASP's FLG values, in order
        use flags::*;
        assert_eq!(
            [NO_DATA, CLOUD, SNOW, WATER, LAND, SHADOW, SATURATED],
            [0, 1, 2, 3, 4, 5, 6]
        );
        assert_eq!(
            p.notes(),
            "weighted-average synthesis of 3 L2A, half window 11 days"
        );
    }

    #[test]
    fn headers_validate_against_the_icd() {
        let dir = tempfile::tempdir().unwrap();
        let p = sample();
        let hdr = p.write_headers(dir.path()).unwrap();
        let all = header_paths(&p, dir.path());
        assert_eq!((all[0].as_path(), all.len()), (hdr.as_path(), 5));
        let (ok, text) = validate(&all);
        assert!(ok, "{text}");
        let xml = std::fs::read_to_string(&hdr).unwrap();
        for part in [
            "<Validity_Start>UTC=2017-12-23T00:00:00<",
            "<Validity_Stop>UTC=2018-01-14T00:00:00<",
            "<Central_Date>20180103<",
            // the first L2A's, as the ICD defines it for L3
            "<Acquisition_Date_Time>UTC=2017-12-28T10:50:02.500000<",
            "<Cloud_Percentage>3.7<",
            "<Input_L2_Product_Information_All_Dates count=\"3\">",
            "<Used_Product_Id sn=\"1\">VE_TEST_VSC_L2VALD_CAMARGUE_20180106<",
        ] {
            assert!(xml.contains(part), "no {part} in {xml}");
        }
        let qlt = std::fs::read_to_string(p.annex_header_path(dir.path(), ANNEX_QLT)).unwrap();
        assert!(qlt.contains("<Data_Type>SIGNED_SHORT<"), "{qlt}");
        assert!(qlt.contains("<Nodata_Value>-32768<"), "{qlt}");
        assert!(
            qlt.contains("<Validity_Start>UTC=2017-12-23T00:00:00<"),
            "{qlt}"
        );
        // Optional parts absent, a single input (central date = its date, half window 0).
        let mut q = sample();
        q.inputs.truncate(1);
        q.inputs[0].orbit = None;
        q.site.orbit = None;
        q.site.date = q.inputs[0].date;
        q.half_window_days = 0;
        q.quicklook = None;
        q.site.gipps_used.clear();
        q.central_gipps_used.clear();
        q.site.dem_stats = None;
        q.site.dem_reference = "NONE".into();
        q.site.aks.clear();
        q.site.cloud_percentage = Some(100.0);
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
                "<Cloud_Percentage>64<",
                "<Cloud_Percentage>64.5<",
            ),
            (
                p.header_path(dir.path()),
                "<Processing_Mode>STANDARD_MODE<",
                "<Processing_Mode>FAST_MODE<",
            ),
            (
                p.annex_header_path(dir.path(), ANNEX_QLT),
                "<Band sn=\"2\">OTH<",
                "<Band sn=\"2\">WGT<",
            ),
            (
                p.annex_header_path(dir.path(), ANNEX_MSK),
                "<Band sn=\"1\">MSK<",
                "<Band sn=\"1\">FLG<",
            ),
        ];
        assert_breakages_rejected(&breakages);
    }

    #[test]
    fn write_then_open_gives_the_same_model() {
        let dir = tempfile::tempdir().unwrap();
        let p = sample();
        let hdr = p.write_headers(dir.path()).unwrap();
        touch_rasters(&p, dir.path());
        assert_eq!(L3a::open(&hdr).unwrap(), p);
        let mut q = sample();
        q.inputs.remove(0);
        q.site.acquisition = q.inputs[0].acquisition;
        q.site.orbit = q.inputs[0].orbit;
        q.half_window_days = 4;
        q.quicklook = None;
        q.site.dem_stats = None;
        q.site.aks.truncate(3);
        q.processing_mode = "INIT_MODE".into();
        q.adjacency_and_slope = false;
        q.site.gipps_used.clear();
        let dir2 = tempfile::tempdir().unwrap();
        let hdr2 = q.write_headers(dir2.path()).unwrap();
        touch_rasters(&q, dir2.path());
        assert_eq!(L3a::open(&hdr2).unwrap(), q);
    }

    #[test]
    fn a_missing_file_is_bad_input_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = sample();
        let hdr = p.write_headers(dir.path()).unwrap();
        touch_rasters(&p, dir.path());
        // in the reverse order of open's checks, so each is the first missing file
        for gone in [
            p.quicklook_path(dir.path()),
            p.annex_path(dir.path(), ANNEX_MSK),
            p.annex_header_path(dir.path(), ANNEX_QLT),
            p.image_path(dir.path()),
            p.image_header_path(dir.path()),
            hdr.clone(),
        ] {
            std::fs::remove_file(&gone).unwrap();
            let e = L3a::open(&hdr).unwrap_err();
            assert_eq!(e.exit_code(), 3);
            assert!(e.to_string().contains(gone.to_str().unwrap()), "{e}");
        }
    }

    #[test]
    fn a_header_of_another_type_or_window_is_bad_input_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let l2a = super::super::l2a::tests::sample();
        let hdr = l2a.write_headers(dir.path()).unwrap();
        let e = L3a::open(&hdr).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        let msg = e.to_string();
        assert!(
            msg.contains(hdr.to_str().unwrap()) && msg.contains("VSC_L3VALD"),
            "{msg}"
        );
        // a Validity_Period not centred on the central date
        let p = sample();
        let hdr = p.write_headers(dir.path()).unwrap();
        touch_rasters(&p, dir.path());
        let text = std::fs::read_to_string(&hdr).unwrap();
        std::fs::write(
            &hdr,
            text.replace("UTC=2018-01-14T00:00:00", "UTC=2018-01-15T00:00:00"),
        )
        .unwrap();
        let e = L3a::open(&hdr).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("Validity_Period"), "{e}");
    }

    #[test]
    fn invalid_models_are_refused_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let mut bad = Vec::new();
        let mut p = sample();
        p.inputs.clear();
        bad.push(p);
        // a synthesis date past the last input (the end of a period) is a synthesis
        let mut p = sample();
        p.site.date = d("2018-01-07");
        p.write_headers(&dir.path().join("late")).unwrap();
        std::fs::remove_dir_all(dir.path().join("late")).unwrap();
        let mut p = sample();
        p.inputs.swap(0, 2);
        p.site.acquisition = p.inputs[0].acquisition;
        p.site.orbit = p.inputs[0].orbit;
        bad.push(p);
        let mut p = sample();
        p.site.orbit = Some(1);
        bad.push(p);
        let mut p = sample();
        p.half_window_days = 3; // 2017-12-28 outside 2017-12-31..2018-01-06
        bad.push(p);
        let mut p = sample();
        p.inputs[1].id = "VE_TEST_VSC_L2VALD_CAMARGUE_20180101".into();
        bad.push(p);
        let mut p = sample();
        p.processing_mode = "FAST_MODE".into();
        bad.push(p);
        let mut p = sample();
        p.site.cloud_percentage = Some(f64::NAN);
        bad.push(p);
        let mut p = sample();
        p.site.nick = "CAMARGU".into();
        bad.push(p);
        for p in bad {
            assert!(p.write_headers(dir.path()).is_err(), "{p:?}");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
