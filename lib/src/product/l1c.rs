//! L1C product: top-of-atmosphere reflectance orthorectified on the site grid, written by
//! `vip-l1` and read by `vip-maccs`, `vip-pack` and `vip-qc`. It follows the ICD L1 published
//! product (ICD-DIGEST §3), file semantic `L1VALD`.
//!
//! Files, for class `c`, site nick `NICK` (8 characters) and acquisition date `D` (`yyyymmdd`):
//! ```text
//! VE_c_VSC_L1VALD_NICK_D.HDR                global header, VSC_PDT_L1_Header_Type (File_Type
//!                                           VSC_L1VALD, schema_version 1.6): acquisition,
//!                                           GIPPs used, footprint, sun and viewing angles,
//!                                           cloud %, DEM, quantification, Aks, processing
//!                                           flags, grid (EPSG, corner, sampling), file list
//! VE_c_VSC_L1VALD_NICK_D.DBL.DIR/
//!   VE_c_VSC_PDTIMG_L1VALD_NICK_D.HDR       image header, PDTIMG_Header_Type
//!   VE_c_VSC_PDTIMG_L1VALD_NICK_D.DBL.TIF   GeoTIFF int16, lines × columns, 15 bands
//!                                           (IMAGE_BANDS):
//!       1-12  B01..B12  TOA reflectance / Reflectance_Quantification_Value (0.001 ⇒ ρ×1000),
//!                       Nodata_Value (−10000) where no band sees the ground
//!       13    SAT       saturation: bit n−1 set when band Bn is saturated (12 bits)
//!       14    PIX       defective pixel (dead, interpolated or aberrant detector): bit n−1 for Bn
//!       15    CLD       L1 cloud mask: 0 clear, 1 cloud
//!   VE_c_VSC_PDTANX_L1VALD_NICK_D_CLA.HDR   cloud altitude annex header, PDTANX_Header_Type
//!   VE_c_VSC_PDTANX_L1VALD_NICK_D_CLA.DBL.TIF  uint16 GeoTIFF, one plane CLA: altitude above
//!                                           the datum (m) of the cloud over each cell of the
//!                                           stereo correlation grid (its footprint), 0 clear;
//!                                           Subsampling_Factor = the CLOUDD grid step (4: 20 m)
//!   VE_c_VSC_PDTQLK_L1VALD_NICK_D.HDR       quicklook header, PDTQLK_Header_Type
//!   VE_c_VSC_PDTQLK_L1VALD_NICK_D.DBL.JPG   3-band JPEG quicklook (CKQLTL: bands, stretch,
//!                                           undersampling, e.g. 20: 100 m)
//!   VE_c_VSC_PDTANX_L1VALD_NICK_D_SOL.HDR   sun direction grid header, PDTANX_Header_Type
//!   VE_c_VSC_PDTANX_L1VALD_NICK_D_SOL.DBL.TIF  float32 GeoTIFF, 2 planes DX_ALT=0.0m, DY_ALT=0.0m
//!   VE_c_VSC_PDTANX_L1VALD_NICK_D_VIE.HDR   viewing direction grid header, PDTANX_Header_Type
//!   VE_c_VSC_PDTANX_L1VALD_NICK_D_VIE.DBL.TIF  float32 GeoTIFF, 8 planes Bnn_DX_ALT=0.0m,
//!                                           Bnn_DY_ALT=0.0m for B05, B10, B07, B06 (one band
//!                                           per tri-detector 1..4, VIE_BANDS)
//! ```
//! Angle grids: the ICD stores them as HDF (`.DBL.HDF`); VIP writes GeoTIFF (`.DBL.TIF`, Format
//! `GEOTIFF` in the annex header) so that every raster of the product is read by the same GDAL
//! code. A grid is coarse, `angle_grid_step_m` apart (e.g. 5000 m, `Subsampling_Factor` =
//! step / pixel): node (i, j) is at X = ulx + j·step, Y = uly − i·step, and there are
//! ceil(extent / step) + 1 nodes per axis so the last node reaches the far edge. Each direction
//! (towards the sun, towards the satellite) is stored as the ICD's displacement per metre of
//! altitude: DX = tan(zenith)·sin(azimuth), DY = tan(zenith)·cos(azimuth) (azimuth clockwise
//! from north; see [`angles_to_grid`] and [`grid_to_angles`]). NaN is nodata.
//!
//! The raw product the L1C was made from is named in the global header extension
//! [`EXT_INPUT_PRODUCT`] (the ICD's private technical file can only name inventoried raw
//! products). The optional private technical file is not written. The CLA annex and the
//! quicklook are optional when reading (an L1C made without cloud detection has neither).
//!
//! The global header carries the cloud detection's figures as real VENµS L1 headers do:
//! `Cloud_Percentage` (pixels of the CLD mask among those every band sees),
//! `Cloud_Detection_Statistics` (cloud altitude mean, standard deviation and histogram in
//! percent of the cloudy CLA cells over 0-2, ..., 12-14, > 14 km; mean and standard deviation
//! of the cloudy cells' reflectance in the CLOUDD reflectance band, in reflectance counts, and
//! that band) and `List_of_Quality_Indexes` ([`QualityIndex`]: `CLOUDS_RATE`, the cloudy
//! fraction, and `CORRELATION_NB_POINTS`, `CORRELATION_NB_VALID_POINTS`,
//! `CORRELATION_PERCENTAGE_VALID_POINTS`, `CORRELATION_RATE` of the stereo correlation, with
//! the secondary stereo band as `Band_Code`).

use std::path::{Path, PathBuf};

use super::common::{
    boolean, jpeg_beside, must_exist, raster_beside, raster_format, raster_size, vie_planes,
    HeaderWriter, Reader, SiteHeader,
};
pub use super::common::{
    QuicklookInfo, ANNEX_SOL, ANNEX_VIE, GRID_VALUES_UNIT, SOL_PLANES, VIE_BANDS,
};
use crate::ee::xml::dec;
use crate::ee::ProductId;
use crate::ee::{EeDoc, Layout, Node};
use crate::error::{Result, VipError};
use crate::raster;

/// File semantic of a valid L1 product.
pub const SEMANTIC: &str = "L1VALD";
/// `File_Type` of the global header.
pub const FILE_TYPE: &str = "VSC_L1VALD";
/// The 15 bands of the image, in file order.
pub const IMAGE_BANDS: [&str; 15] = [
    "B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08", "B09", "B10", "B11", "B12", "SAT",
    "PIX", "CLD",
];
/// 1-based raster band of the saturation bit mask (bit n−1 = band Bn).
pub const SAT_BAND: usize = 13;
/// 1-based raster band of the defective-pixel bit mask (bit n−1 = band Bn).
pub const PIX_BAND: usize = 14;
/// 1-based raster band of the cloud mask (0 clear, 1 cloud).
pub const CLD_BAND: usize = 15;
/// Annex code of the cloud altitude grid.
pub const ANNEX_CLA: &str = "CLA";
/// Band description of the CLA raster.
pub const CLA_PLANE: &str = "CLA";
/// Extension keyword: id of the raw product the L1C was made from.
pub const EXT_INPUT_PRODUCT: &str = "INPUT_PRODUCT_ID";

const GLOBAL_SCHEMA_VERSION: &str = "1.6";
/// Nodata value written in the CLA annex header (0 is "no cloud", a value).
const CLA_NODATA: &str = "65535";

/// Processing flags of the L1 header (`Processing_Flags_And_Modes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProcessingFlags {
    pub equalization: bool,
    pub bad_pixels_correction: bool,
    pub restoration: bool,
    pub remanence: bool,
    pub straylight_t1: bool,
    pub straylight_t2: bool,
    pub polarization: bool,
    pub geometrical_refinement_with_ref_image: bool,
    pub interband_geometrical_refinement: bool,
}

const FLAG_NAMES: [&str; 9] = [
    "Equalization",
    "Bad_Pixels_Correction",
    "Restoration",
    "Remanence",
    "Straylight_T1",
    "Straylight_T2",
    "Polarization",
    "Geometrical_Refinement_With_Ref_Image",
    "Interband_Geometrical_Refinement",
];

impl ProcessingFlags {
    fn values(&self) -> [bool; 9] {
        [
            self.equalization,
            self.bad_pixels_correction,
            self.restoration,
            self.remanence,
            self.straylight_t1,
            self.straylight_t2,
            self.polarization,
            self.geometrical_refinement_with_ref_image,
            self.interband_geometrical_refinement,
        ]
    }

    fn from_values(v: [bool; 9]) -> Self {
        ProcessingFlags {
            equalization: v[0],
            bad_pixels_correction: v[1],
            restoration: v[2],
            remanence: v[3],
            straylight_t1: v[4],
            straylight_t2: v[5],
            polarization: v[6],
            geometrical_refinement_with_ref_image: v[7],
            interband_geometrical_refinement: v[8],
        }
    }
}

/// `Cloud_Detection_Statistics` of the header.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudStatistics {
    /// Cloud altitude over the cloudy CLA cells, metres (whole metres kept).
    pub altitude_mean: f64,
    pub altitude_std: f64,
    /// Percent of the cloudy cells per 2 km of altitude, 0-2 km first, the last above 14 km
    /// (1 decimal kept).
    pub histogram: [f64; 8],
    /// Mean and standard deviation of the cloudy cells' reflectance in `blue_band`, in
    /// reflectance counts (2 decimals kept).
    pub radiometry_mean: f64,
    pub radiometry_std: f64,
    pub blue_band: String,
}

/// One `Quality_Index`: code, value (as written) and optional band.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityIndex {
    pub code: String,
    pub value: String,
    pub band: Option<String>,
}

/// The CLA annex grid: cells of `step` (lines, columns) pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaGrid {
    pub lines: usize,
    pub cols: usize,
    pub step: (usize, usize),
}

/// The cloud altitude of an L1C on its grid, read from the CLA annex.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudAltitude {
    pub grid: ClaGrid,
    /// Altitude above the datum, metres, row-major; 0 where no cloud was found.
    pub values: Vec<f32>,
}

impl CloudAltitude {
    /// The altitude over pixel (line, column) of the L1C grid (0: no cloud).
    pub fn at_pixel(&self, line: usize, col: usize) -> f32 {
        let (i, j) = (
            (line / self.grid.step.0).min(self.grid.lines - 1),
            (col / self.grid.step.1).min(self.grid.cols - 1),
        );
        self.values[i * self.grid.cols + j]
    }
}

/// An L1C product (header model; the pixels are in the files it names).
#[derive(Debug, Clone, PartialEq)]
pub struct L1c {
    /// Names, acquisition, grid, angles, DEM, quantification and provenance.
    pub site: SiteHeader,
    /// Id of the raw product the L1C was made from.
    pub input_product_id: String,
    pub flags: ProcessingFlags,
    /// Id of the reference image the geometry was refined on (`None`: not refined).
    pub reference_image: Option<String>,
    /// Cloud detection figures (`None`: not computed).
    pub cloud_statistics: Option<CloudStatistics>,
    pub quality_indexes: Vec<QualityIndex>,
    /// The CLA annex, when the product has one.
    pub cla: Option<ClaGrid>,
    /// The quicklook, when the product has one.
    pub quicklook: Option<QuicklookInfo>,
}

/// Displacement per metre of altitude (DX east, DY north) for a direction given by its zenith
/// and azimuth angles in degrees: the encoding of the SOL and VIE grids.
pub fn angles_to_grid(zenith_deg: f64, azimuth_deg: f64) -> (f64, f64) {
    let t = zenith_deg.to_radians().tan();
    let a = azimuth_deg.to_radians();
    (t * a.sin(), t * a.cos())
}

/// Zenith and azimuth (degrees, azimuth in [0, 360)) of a SOL or VIE grid value.
pub fn grid_to_angles(dx: f64, dy: f64) -> (f64, f64) {
    let zenith = dx.hypot(dy).atan().to_degrees();
    let azimuth = if dx == 0.0 && dy == 0.0 {
        0.0
    } else {
        dx.atan2(dy).to_degrees().rem_euclid(360.0)
    };
    (zenith, azimuth)
}

impl L1c {
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

    /// The product id, `VE_<class>_VSC_L1VALD_<nick>_<yyyymmdd>`.
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

    /// The image header: `…DBL.DIR/VE_<class>_VSC_PDTIMG_L1VALD_<inst>.HDR`.
    pub fn image_header_path(&self, dir: &Path) -> PathBuf {
        self.ids().image_header(dir, None)
    }

    /// The 15-band image: `…DBL.DIR/VE_<class>_VSC_PDTIMG_L1VALD_<inst>.DBL.TIF`.
    pub fn image_path(&self, dir: &Path) -> PathBuf {
        raster_beside(&self.image_header_path(dir))
    }

    /// The header of annex `code` ([`ANNEX_SOL`], [`ANNEX_VIE`]).
    pub fn annex_header_path(&self, dir: &Path, code: &str) -> PathBuf {
        self.ids().annex_header(dir, code)
    }

    /// The raster of annex `code`: `…_<code>.DBL.TIF`.
    pub fn annex_path(&self, dir: &Path, code: &str) -> PathBuf {
        raster_beside(&self.annex_header_path(dir, code))
    }

    /// The quicklook header: `…DBL.DIR/VE_<class>_VSC_PDTQLK_L1VALD_<inst>.HDR`.
    pub fn quicklook_header_path(&self, dir: &Path) -> PathBuf {
        self.ids().quicklook_header(dir)
    }

    /// The quicklook JPEG: `…_PDTQLK_L1VALD_<inst>.DBL.JPG`.
    pub fn quicklook_path(&self, dir: &Path) -> PathBuf {
        jpeg_beside(&self.quicklook_header_path(dir))
    }

    /// The CLA annex raster when the product has one.
    pub fn cla_path(&self, dir: &Path) -> Option<PathBuf> {
        self.cla.map(|_| self.annex_path(dir, ANNEX_CLA))
    }

    /// Reads the CLA annex of the product whose global header is in `dir`: `None` when the
    /// product has none.
    pub fn read_cloud_altitude(&self, dir: &Path) -> Result<Option<CloudAltitude>> {
        let (Some(grid), Some(path)) = (self.cla, self.cla_path(dir)) else {
            return Ok(None);
        };
        let ds = raster::open(&path)?;
        let values: Vec<f32> = raster::read_window(&ds, 1, (0, 0), (grid.cols, grid.lines))?;
        Ok(Some(CloudAltitude { grid, values }))
    }

    /// The L1 cloud mask (band CLD: 0 clear, 1 cloud, 2 bright and measured at the ground by
    /// the stereo; [`crate::cloud::stereo::CLD_CLOUD`], [`crate::cloud::stereo::CLD_GROUND`])
    /// over image rows `rows`, full width, of the product whose global header is in `dir`.
    pub fn read_cloud_mask(&self, dir: &Path, rows: std::ops::Range<usize>) -> Result<Vec<u8>> {
        let path = self.image_path(dir);
        let ds = raster::open(&path)?;
        let mut out = Vec::with_capacity(rows.len() * self.site.cols);
        // a tile row at a time: the int16 band is never held whole beside the bytes
        for r0 in rows.clone().step_by(raster::TILE_ROWS) {
            let n = raster::TILE_ROWS.min(rows.end - r0);
            let v: Vec<i16> = raster::read_window(&ds, CLD_BAND, (0, r0), (self.site.cols, n))?;
            out.extend(v.into_iter().map(|x| x.clamp(0, 255) as u8));
        }
        Ok(out)
    }

    /// Planes of the VIE grid, in file order.
    pub fn vie_planes() -> Vec<String> {
        vie_planes()
    }

    /// Writes the global header, the image header and the SOL and VIE annex headers into
    /// `dir` (creating the `.DBL.DIR`); the rasters are written by the caller at
    /// [`L1c::image_path`] and [`L1c::annex_path`]. Returns the global header path.
    pub fn write_headers(&self, dir: &Path) -> Result<PathBuf> {
        let site = self.header();
        site.check()?;
        let dbl = self.dbl_dir(dir);
        std::fs::create_dir_all(&dbl).map_err(|e| VipError::output_io(&dbl, &e))?;
        site.image_doc(site.ids.image(None), site.image_information(&IMAGE_BANDS))
            .write(&self.image_header_path(dir))?;
        site.write_grid_annexes(dir)?;
        if let Some(g) = &self.cla {
            let info = Node::new("Annex_Information")
                .children(raster_format("UNSIGNED_SHORT", 16))
                .child(Node::text("Nodata_Value", CLA_NODATA))
                .children(raster_size(g.lines, g.cols, &[CLA_PLANE]))
                .child(
                    Node::new("Subsampling_Factor")
                        .child(Node::text("By_Line", g.step.0))
                        .child(Node::text("By_Column", g.step.1)),
                )
                .child(Node::text("Values_Unit", "m"));
            site.annex_doc(ANNEX_CLA, "Cloud Altitudes", info)
                .write(&self.annex_header_path(dir, ANNEX_CLA))?;
        }
        if let Some(q) = &self.quicklook {
            site.quicklook_doc(q)
                .write(&self.quicklook_header_path(dir))?;
        }
        let hdr = self.header_path(dir);
        self.global_doc(&site).write(&hdr)?;
        Ok(hdr)
    }

    /// `Cloud_Detection_Statistics` and `List_of_Quality_Indexes` put into the generic
    /// `Product_Information`.
    fn with_cloud_figures(&self, mut info: Node) -> Node {
        if let Some(slot) = info
            .children
            .iter_mut()
            .find(|c| c.name == "List_of_Quality_Indexes")
        {
            *slot = Node::list(
                "List_of_Quality_Indexes",
                self.quality_indexes
                    .iter()
                    .enumerate()
                    .map(|(i, q)| {
                        let mut n = Node::new("Quality_Index")
                            .attr("sn", i + 1)
                            .child(Node::text("Code", &q.code))
                            .child(Node::text("Value", &q.value));
                        if let Some(b) = &q.band {
                            n = n.child(Node::text("Band_Code", b));
                        }
                        n
                    })
                    .collect(),
            );
        }
        if let Some(c) = &self.cloud_statistics {
            let at = info
                .children
                .iter()
                .position(|n| n.name == "Cloud_Percentage")
                .map_or(info.children.len(), |i| i + 1);
            let hist: Vec<String> = c.histogram.iter().map(|v| dec(*v, 1)).collect();
            let stats = Node::new("Cloud_Detection_Statistics")
                .child(
                    Node::new("Cloud_Altitude")
                        .child(Node::text("Average", dec(c.altitude_mean, 0)).attr("unit", "m"))
                        .child(
                            Node::text("Standard_Deviation", dec(c.altitude_std, 0))
                                .attr("unit", "m"),
                        )
                        .child(Node::text("Histogram", hist.join(" "))),
                )
                .child(
                    Node::new("Cloud_Radiometry")
                        .child(Node::text("Average", dec(c.radiometry_mean, 2)))
                        .child(Node::text("Standard_Deviation", dec(c.radiometry_std, 2)))
                        .child(Node::text("Blue_Band", &c.blue_band)),
                );
            info.children.insert(at, stats);
        }
        info
    }

    fn global_doc(&self, site: &HeaderWriter) -> EeDoc {
        let ids = &site.ids;
        let info = self
            .with_cloud_figures(site.product_information("L1"))
            .child(Node::list("List_of_Polarization_Coefficients", vec![]))
            .child(
                Node::new("Processing_Flags_And_Modes").children(
                    FLAG_NAMES
                        .iter()
                        .zip(self.flags.values())
                        .map(|(n, v)| boolean(n, v)),
                ),
            )
            .child(Node::text(
                "Used_Reference_Image",
                self.reference_image.as_deref().unwrap_or("NONE"),
            ));
        let mut organization = Node::new("Product_Organization").child(site.file_ref(
            "Image_File",
            "VSC_PDTIMG",
            &ids.image(None),
        ));
        if self.quicklook.is_some() {
            organization = organization.child(site.file_ref(
                "Quicklook_File",
                "VSC_PDTQLK",
                &self.ids().quicklook(),
            ));
        }
        let annexes: &[&str] = if self.cla.is_some() {
            &[ANNEX_CLA, ANNEX_SOL, ANNEX_VIE]
        } else {
            &[ANNEX_SOL, ANNEX_VIE]
        };
        organization = organization.child(site.annex_list(annexes));
        EeDoc {
            layout: Layout::Header,
            xsi_type: "VSC_PDT_L1_Header_Type".into(),
            schema_version: GLOBAL_SCHEMA_VERSION.into(),
            fixed: site.fixed(ids.to_string(), "L1PublishedProduct", FILE_TYPE),
            extensions: vec![(EXT_INPUT_PRODUCT.into(), self.input_product_id.clone())],
            specific: Node::new("Specific_Product_Header")
                .child(site.instance_id())
                .child(info)
                .child(site.image_information(&IMAGE_BANDS))
                .child(site.geo_referencing())
                .child(organization),
            data_block: None,
        }
    }

    /// Reads an L1C from its global header, checking that it is a `VSC_L1VALD` EE header and
    /// that the image and the SOL and VIE annexes it lists (headers and rasters) exist and have
    /// the sizes and band counts the header gives them.
    pub fn open(hdr: &Path) -> Result<L1c> {
        let doc = EeDoc::read(hdr)?;
        doc.expect_type(FILE_TYPE, hdr)?;
        let r = Reader::new(hdr);
        let base = hdr.parent().unwrap_or(Path::new("."));
        let sph = &doc.specific;
        let info = r.node(sph, "Product_Information")?;
        let org = r.node(sph, "Product_Organization")?;

        let image_hdr = r.located(base, r.node(org, "Image_File")?)?;
        let image = raster_beside(&image_hdr);
        must_exist(&image, "L1C image")?;
        let sol = r.annex(base, org, ANNEX_SOL)?;
        let vie = r.annex(base, org, ANNEX_VIE)?;
        let s = SiteHeader::read(&doc, hdr, &sol)?;
        raster::expect_shape(&image, (s.cols, s.lines), IMAGE_BANDS.len())?;
        let (gl, gc) = s.angle_grid_shape();
        raster::expect_shape(&raster_beside(&sol), (gc, gl), SOL_PLANES.len())?;
        raster::expect_shape(&raster_beside(&vie), (gc, gl), vie_planes().len())?;

        let listed = |code: &str| {
            org.find("List_of_Annex_Files")
                .is_some_and(|l| l.all("Annex_File").any(|a| a.get_attr("sk") == Some(code)))
        };
        let cla = if listed(ANNEX_CLA) {
            let cla_hdr = r.annex(base, org, ANNEX_CLA)?;
            let doc = EeDoc::read(&cla_hdr)?;
            let cr = Reader::new(&cla_hdr);
            let ai = cr.node(&doc.specific, "Annex_Information")?;
            let g = ClaGrid {
                lines: cr.usize(ai, "Size/Lines")?,
                cols: cr.usize(ai, "Size/Columns")?,
                step: (
                    cr.usize(ai, "Subsampling_Factor/By_Line")?,
                    cr.usize(ai, "Subsampling_Factor/By_Column")?,
                ),
            };
            raster::expect_shape(&raster_beside(&cla_hdr), (g.cols, g.lines), 1)?;
            Some(g)
        } else {
            None
        };
        let quicklook = r.quicklook(base, org, "L1C quicklook")?;
        let cloud_statistics = match info.find("Cloud_Detection_Statistics") {
            Some(c) => {
                let hist: Vec<f64> = r
                    .text(c, "Cloud_Altitude/Histogram")?
                    .split_whitespace()
                    .map(|v| v.parse::<f64>())
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|_| r.bad("Cloud_Altitude/Histogram is not a list of numbers"))?;
                let histogram: [f64; 8] = hist
                    .try_into()
                    .map_err(|_| r.bad("Cloud_Altitude/Histogram does not hold 8 values"))?;
                Some(CloudStatistics {
                    altitude_mean: r.f64(c, "Cloud_Altitude/Average")?,
                    altitude_std: r.f64(c, "Cloud_Altitude/Standard_Deviation")?,
                    histogram,
                    radiometry_mean: r.f64(c, "Cloud_Radiometry/Average")?,
                    radiometry_std: r.f64(c, "Cloud_Radiometry/Standard_Deviation")?,
                    blue_band: r.text(c, "Cloud_Radiometry/Blue_Band")?.to_string(),
                })
            }
            None => None,
        };
        let quality_indexes = match info.find("List_of_Quality_Indexes") {
            Some(l) => l
                .all("Quality_Index")
                .map(|q| {
                    Ok(QualityIndex {
                        code: r.text(q, "Code")?.to_string(),
                        value: r.text(q, "Value")?.to_string(),
                        band: q.find_text("Band_Code").map(|b| b.trim().to_string()),
                    })
                })
                .collect::<Result<Vec<_>>>()?,
            None => vec![],
        };
        let flags_node = r.node(info, "Processing_Flags_And_Modes")?;
        let mut flags = [false; 9];
        for (f, name) in flags.iter_mut().zip(FLAG_NAMES) {
            *f = r.bool(flags_node, name)?;
        }
        Ok(L1c {
            site: s,
            input_product_id: doc
                .extension(EXT_INPUT_PRODUCT)
                .unwrap_or_default()
                .to_string(),
            flags: ProcessingFlags::from_values(flags),
            reference_image: info
                .find_text("Used_Reference_Image")
                .map(str::trim)
                .filter(|id| !id.is_empty() && *id != "NONE")
                .map(String::from),
            cloud_statistics,
            quality_indexes,
            cla,
            quicklook,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::product::AngleSet;
    use chrono::{NaiveDate, NaiveDateTime};

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").unwrap()
    }

    pub(crate) fn sample() -> L1c {
        let mut view = [AngleSet::uniform(18.654321, 105.123456); 4];
        view[2].zenith[4] = 3.5;
        view[3].azimuth[0] = 284.25;
        L1c {
            site: SiteHeader {
                class: "TEST".into(),
                nick: "CAMARGUE".into(),
                date: NaiveDate::from_ymd_opt(2018, 1, 1).unwrap(),
                acquisition: t("2018-01-01T10:51:48.250"),
                orbit: Some(1234),
                epsg: 32631,
                ulx: 624_000.0,
                uly: 4_840_000.0,
                pixel_m: 5.0,
                lines: 5500,
                cols: 5400,
                quantification: 0.001,
                nodata: -10000,
                gipps_used: vec![
                    (
                        "GIP_PHGAIN".into(),
                        "VE_TEST_GIP_PHGAIN_L_ALLSITES_00001_20170801_99991231".into(),
                    ),
                    (
                        "GIP_STRLGT".into(),
                        "VE_TEST_GIP_STRLGT_L_ALLSITES_00001_20170801_99991231_B05".into(),
                    ),
                ],
                sun: AngleSet {
                    zenith: [67.1, 67.2, 67.3, 67.4, 67.25],
                    azimuth: [158.5, 158.6, 158.4, 158.55, 158.512345],
                },
                view,
                view_in_satellite_frame: Some([-4.75, 10.875, 11.875]),
                corners_lonlat: [
                    (4.3, 43.7),
                    (4.64, 43.7),
                    (4.3, 43.45),
                    (4.64, 43.45),
                    (4.47, 43.575123456),
                ],
                cloud_percentage: Some(12.5),
                dem_reference: "LOCAL=VE_TEST_AUX_REFDE2_CAMARGUE_0001".into(),
                dem_stats: Some((-6.0, 392.0, 22.1, 40.9)),
                aks: (0..12).map(|i| 1.0 + 0.001 * i as f64).collect(),
                angle_grid_step_m: 5000.0,
                creation: t("2024-11-24T12:00:00"),
                creator: "vip-l1".into(),
                creator_version: "0.1.0".into(),
            },
            input_product_id: "VE_TEST_VSC_1AVALD_CAMARGUE_20180101".into(),
            flags: ProcessingFlags {
                equalization: true,
                straylight_t1: true,
                straylight_t2: true,
                ..Default::default()
            },
            reference_image: Some("VE_TEST_AUX_REFIMG_E00437N4369_E00470N4344_0001".into()),
            cloud_statistics: Some(CloudStatistics {
                altitude_mean: 2412.0,
                altitude_std: 350.0,
                histogram: [10.0, 85.5, 4.5, 0.0, 0.0, 0.0, 0.0, 0.0],
                radiometry_mean: 412.37,
                radiometry_std: 80.12,
                blue_band: "B02".into(),
            }),
            quality_indexes: vec![
                QualityIndex {
                    code: "CLOUDS_RATE".into(),
                    value: "0.125".into(),
                    band: None,
                },
                QualityIndex {
                    code: "CORRELATION_NB_POINTS".into(),
                    value: "1200".into(),
                    band: Some("B06".into()),
                },
            ],
            cla: Some(ClaGrid {
                lines: 1375,
                cols: 1350,
                step: (4, 4),
            }),
            quicklook: Some(QuicklookInfo {
                bands: ["B07".into(), "B04".into(), "B03".into()],
                factor: 20,
                lines: 275,
                cols: 270,
            }),
        }
    }

    /// Empty (sparse) rasters of the sizes the header gives.
    fn touch_rasters(p: &L1c, dir: &Path) {
        let (gl, gc) = p.site.angle_grid_shape();
        for (path, w, h, n, t) in [
            (
                p.image_path(dir),
                p.site.cols,
                p.site.lines,
                15,
                raster::SampleType::I16,
            ),
            (
                p.annex_path(dir, ANNEX_SOL),
                gc,
                gl,
                2,
                raster::SampleType::F32,
            ),
            (
                p.annex_path(dir, ANNEX_VIE),
                gc,
                gl,
                8,
                raster::SampleType::F32,
            ),
        ] {
            let spec = raster::RasterSpec::new(w, h, n, t);
            let sparse = [("SPARSE_OK".to_string(), "TRUE".to_string())];
            let ds = raster::create_geotiff(&path, &spec, &sparse).unwrap();
            raster::finish(ds, &path).unwrap();
        }
        if let Some(g) = p.cla {
            let path = p.annex_path(dir, ANNEX_CLA);
            let spec = raster::RasterSpec::new(g.cols, g.lines, 1, raster::SampleType::U16);
            let ds = raster::create_geotiff(&path, &spec, &[]).unwrap();
            raster::finish(ds, &path).unwrap();
        }
        if p.quicklook.is_some() {
            std::fs::write(p.quicklook_path(dir), b"").unwrap();
        }
    }

    #[test]
    fn names_and_grid_follow_the_layout() {
        let p = sample();
        let d = Path::new("o");
        assert_eq!(p.global_id(), "VE_TEST_VSC_L1VALD_CAMARGUE_20180101");
        assert_eq!(
            p.image_path(d),
            Path::new("o/VE_TEST_VSC_L1VALD_CAMARGUE_20180101.DBL.DIR")
                .join("VE_TEST_VSC_PDTIMG_L1VALD_CAMARGUE_20180101.DBL.TIF")
        );
        assert_eq!(
            p.annex_path(d, ANNEX_VIE).file_name().unwrap(),
            "VE_TEST_VSC_PDTANX_L1VALD_CAMARGUE_20180101_VIE.DBL.TIF"
        );
        // 5500 × 5 m = 27.5 km → nodes at 0, 5, ..., 30 km; 27 km → 0..30 km too.
        assert_eq!(p.site.angle_grid_shape(), (7, 7));
        let mut q = sample();
        q.site.lines = 1000; // exactly 5 km: nodes 0 and 5 km.
        assert_eq!(q.site.angle_grid_shape().0, 2);
        assert_eq!(IMAGE_BANDS[SAT_BAND - 1], "SAT");
        assert_eq!(IMAGE_BANDS[PIX_BAND - 1], "PIX");
        assert_eq!(IMAGE_BANDS[CLD_BAND - 1], "CLD");
        for (d, b) in VIE_BANDS.iter().enumerate() {
            assert_eq!(
                crate::mission::venus::band_by_code(b).unwrap().detector as usize,
                d + 1
            );
        }
    }

    #[test]
    fn grid_encoding_inverts() {
        for (z, a) in [(30.0, 45.0), (67.3, 158.5), (5.0, 300.0), (0.0, 0.0)] {
            let (dx, dy) = angles_to_grid(z, a);
            let (z2, a2) = grid_to_angles(dx, dy);
            assert!((z - z2).abs() < 1e-9 && (a - a2).abs() < 1e-9, "{z} {a}");
        }
        let (dx, dy) = angles_to_grid(45.0, 90.0);
        assert!((dx - 1.0).abs() < 1e-12 && dy.abs() < 1e-12);
    }

    #[test]
    fn headers_validate_against_the_icd() {
        let dir = tempfile::tempdir().unwrap();
        let p = sample();
        let hdr = p.write_headers(dir.path()).unwrap();
        let image = p.image_header_path(dir.path());
        let sol = p.annex_header_path(dir.path(), ANNEX_SOL);
        let vie = p.annex_header_path(dir.path(), ANNEX_VIE);
        let cla = p.annex_header_path(dir.path(), ANNEX_CLA);
        let qlk = p.quicklook_header_path(dir.path());
        crate::ee::schema::validate_all(&[&hdr, &image, &sol, &vie, &cla, &qlk]).unwrap();
        let text = std::fs::read_to_string(&hdr).unwrap();
        assert!(
            text.contains("<Histogram>10 85.5 4.5 0 0 0 0 0</Histogram>"),
            "{text}"
        );
        // Optional parts absent.
        let mut q = sample();
        q.cla = None;
        q.quicklook = None;
        q.cloud_statistics = None;
        q.quality_indexes.clear();
        q.site.cloud_percentage = None;
        q.site.dem_stats = None;
        q.site.dem_reference = "NONE".into();
        q.site.gipps_used.clear();
        q.site.aks.clear();
        let dir2 = tempfile::tempdir().unwrap();
        let hdr2 = q.write_headers(dir2.path()).unwrap();
        crate::ee::schema::validate_all(&[&hdr2]).unwrap();
        // The check has teeth: a second decimal on the cloud percentage is refused.
        let text = std::fs::read_to_string(&hdr).unwrap();
        std::fs::write(
            &hdr,
            text.replace("<Cloud_Percentage>12.5<", "<Cloud_Percentage>12.55<"),
        )
        .unwrap();
        assert!(crate::ee::schema::validate_all(&[&hdr]).is_err());
    }

    #[test]
    fn write_then_open_gives_the_same_model() {
        let dir = tempfile::tempdir().unwrap();
        let p = sample();
        let hdr = p.write_headers(dir.path()).unwrap();
        touch_rasters(&p, dir.path());
        assert_eq!(L1c::open(&hdr).unwrap(), p);
        let mut q = sample();
        q.site.cloud_percentage = None;
        q.site.dem_stats = None;
        q.site.aks.truncate(3);
        q.cla = None;
        q.quicklook = None;
        q.cloud_statistics = None;
        q.quality_indexes.clear();
        let dir2 = tempfile::tempdir().unwrap();
        let hdr2 = q.write_headers(dir2.path()).unwrap();
        touch_rasters(&q, dir2.path());
        assert_eq!(L1c::open(&hdr2).unwrap(), q);
    }

    #[test]
    fn a_missing_file_is_bad_input_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = sample();
        let hdr = p.write_headers(dir.path()).unwrap();
        touch_rasters(&p, dir.path());
        for gone in [
            p.annex_path(dir.path(), ANNEX_VIE),
            p.image_path(dir.path()),
        ] {
            std::fs::remove_file(&gone).unwrap();
            let e = L1c::open(&hdr).unwrap_err();
            assert_eq!(e.exit_code(), 3);
            assert!(e.to_string().contains(gone.to_str().unwrap()), "{e}");
        }
    }

    #[test]
    fn a_raster_of_another_size_than_its_header_is_bad_input_naming_both() {
        let dir = tempfile::tempdir().unwrap();
        let p = sample();
        let hdr = p.write_headers(dir.path()).unwrap();
        let mut short = p.clone();
        short.site.lines -= 1;
        touch_rasters(&short, dir.path());
        let e = L1c::open(&hdr).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        let msg = e.to_string();
        let image = p.image_path(dir.path());
        assert!(
            msg.contains(image.to_str().unwrap())
                && msg.contains("5400 × 5499")
                && msg.contains("5400 × 5500"),
            "{msg}"
        );
        // An angle grid with a node row missing.
        touch_rasters(&p, dir.path());
        let sol = p.annex_path(dir.path(), ANNEX_SOL);
        let (gl, gc) = p.site.angle_grid_shape();
        let spec = raster::RasterSpec::new(gc, gl - 1, 2, raster::SampleType::F32);
        raster::finish(raster::create_geotiff(&sol, &spec, &[]).unwrap(), &sol).unwrap();
        let msg = L1c::open(&hdr).unwrap_err().to_string();
        assert!(msg.contains(sol.to_str().unwrap()), "{msg}");
    }

    #[test]
    fn a_header_of_another_type_is_bad_input_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let raw = super::super::l1a::tests::sample();
        let hdr = raw.write_headers(dir.path()).unwrap();
        let e = L1c::open(&hdr).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        let msg = e.to_string();
        assert!(
            msg.contains(hdr.to_str().unwrap()) && msg.contains("VSC_L1VALD"),
            "{msg}"
        );
    }
}
