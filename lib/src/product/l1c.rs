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
//! products). The optional private technical file, the quicklook and the CLA annex are not
//! written.

use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate, NaiveDateTime, Timelike};

use super::common::{
    boolean, dec, item_ref, must_exist, num, processing_information, raster_beside, solar_angles,
    unit, utc_fraction, viewing_angles, wavelengths, AngleSet, Reader,
};
use super::ids::Ids;
use crate::ee::{EeDoc, FixedHeader, Layout, Node};
use crate::error::{Result, VipError};
use crate::mission::venus;

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
/// Annex code of the sun direction grid.
pub const ANNEX_SOL: &str = "SOL";
/// Annex code of the viewing direction grid.
pub const ANNEX_VIE: &str = "VIE";
/// Planes of the SOL grid.
pub const SOL_PLANES: [&str; 2] = ["DX_ALT=0.0m", "DY_ALT=0.0m"];
/// The band whose viewing direction the VIE grid gives, for tri-detectors 1..4.
pub const VIE_BANDS: [&str; 4] = ["B05", "B10", "B07", "B06"];
/// Extension keyword: id of the raw product the L1C was made from.
pub const EXT_INPUT_PRODUCT: &str = "INPUT_PRODUCT_ID";
/// Unit of the angle grid values.
pub const GRID_VALUES_UNIT: &str = "m/m of altitude";

const GLOBAL_SCHEMA_VERSION: &str = "1.6";
const SUB_SCHEMA_VERSION: &str = "0.42";
const WEB_SITE_URL: &str = "https://venus.cnes.fr";

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

/// An L1C product (header model; the pixels are in the files it names).
#[derive(Debug, Clone, PartialEq)]
pub struct L1c {
    /// File class: `TEST`, `OPER`, ...
    pub class: String,
    /// Site nick name, exactly 8 characters `[0-9A-Z_]`.
    pub nick: String,
    /// Acquisition date (the date in the ids).
    pub date: NaiveDate,
    /// Acquisition time at the scene centre.
    pub acquisition: NaiveDateTime,
    /// Absolute orbit number of the acquisition (`Acquisition_Orbit_Number`); `None` when the
    /// header says `NIL=N/A`.
    pub orbit: Option<u32>,
    /// EPSG code of the site grid (e.g. 32631).
    pub epsg: u32,
    /// Outer corner of the upper-left pixel (GDAL geotransform origin), metres. The header
    /// carries the centre of that pixel (ICD convention): ulx + pixel/2, uly − pixel/2.
    pub ulx: f64,
    pub uly: f64,
    /// Pixel size, metres (square pixels).
    pub pixel_m: f64,
    pub lines: usize,
    pub cols: usize,
    /// Reflectance of one count (`Reflectance_Quantification_Value`, e.g. 0.001); ≤ 6 decimals.
    pub quantification: f64,
    /// Nodata value of the reflectance bands (−10000).
    pub nodata: i16,
    /// GIPPs used: (nature e.g. `GIP_PHGAIN`, logical id).
    pub gipps_used: Vec<(String, String)>,
    /// Id of the raw product the L1C was made from.
    pub input_product_id: String,
    /// Sun angles at the corners and centre of the useful image.
    pub sun: AngleSet,
    /// Viewing angles per tri-detector 1..4.
    pub view: [AngleSet; 4],
    /// (lon, lat) in degrees of UL, UR, LL, LR pixel centres and the image centre; ≤ 9 decimals.
    pub corners_lonlat: [(f64, f64); 5],
    /// Cloudy pixels, percent (1 decimal kept); `None` when not computed.
    pub cloud_percentage: Option<f64>,
    /// `LOCAL=<REFDE2 id>`, `SRTM=<id>`, `GLOBAL=<name>` or `NONE`.
    pub dem_reference: String,
    /// DEM min, max, mean, standard deviation over the image, metres.
    pub dem_stats: Option<(f64, f64, f64, f64)>,
    /// Absolute calibration coefficient per band, B01 first (at most 12; 5 decimals kept).
    pub aks: Vec<f64>,
    pub flags: ProcessingFlags,
    /// Spacing of the SOL/VIE grid nodes, metres (a multiple of `pixel_m`).
    pub angle_grid_step_m: f64,
    /// Creation time of the headers (whole seconds).
    pub creation: NaiveDateTime,
    pub creator: String,
    pub creator_version: String,
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

/// Short description of a grid CRS for the headers.
fn crs_description(epsg: u32) -> String {
    match epsg {
        4326 => "WGS 84".into(),
        32601..=32660 => format!("WGS 84 / UTM zone {}N", epsg - 32600),
        32701..=32760 => format!("WGS 84 / UTM zone {}S", epsg - 32700),
        _ => format!("EPSG:{epsg}"),
    }
}

fn crs(name: &str, epsg: u32) -> Node {
    Node::new(name)
        .child(Node::text("Code", format!("EPSG:{epsg}")))
        .child(Node::text("Short_Description", crs_description(epsg)))
}

fn xy(name: &str, x: f64, y: f64) -> Node {
    Node::new(name)
        .child(unit("X", num(x), "m"))
        .child(unit("Y", num(y), "m"))
}

impl L1c {
    fn ids(&self) -> Ids {
        Ids::new(&self.class, SEMANTIC, &self.nick, self.date)
    }

    /// The product id, `VE_<class>_VSC_L1VALD_<nick>_<yyyymmdd>`.
    pub fn global_id(&self) -> String {
        self.ids().product()
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
        let ids = self.ids();
        ids.in_dbl(dir, &format!("{}.HDR", ids.image(None)))
    }

    /// The 15-band image: `…DBL.DIR/VE_<class>_VSC_PDTIMG_L1VALD_<inst>.DBL.TIF`.
    pub fn image_path(&self, dir: &Path) -> PathBuf {
        raster_beside(&self.image_header_path(dir))
    }

    /// The header of annex `code` ([`ANNEX_SOL`], [`ANNEX_VIE`]).
    pub fn annex_header_path(&self, dir: &Path, code: &str) -> PathBuf {
        let ids = self.ids();
        ids.in_dbl(dir, &format!("{}.HDR", ids.annex(code)))
    }

    /// The raster of annex `code`: `…_<code>.DBL.TIF`.
    pub fn annex_path(&self, dir: &Path, code: &str) -> PathBuf {
        raster_beside(&self.annex_header_path(dir, code))
    }

    /// Number of (lines, columns) of the SOL/VIE grids.
    pub fn angle_grid_shape(&self) -> (usize, usize) {
        let n = |count: usize| {
            ((count as f64 * self.pixel_m) / self.angle_grid_step_m - 1e-9).ceil() as usize + 1
        };
        (n(self.lines), n(self.cols))
    }

    /// Planes of the VIE grid, in file order.
    pub fn vie_planes() -> Vec<String> {
        VIE_BANDS
            .iter()
            .flat_map(|b| [format!("{b}_DX_ALT=0.0m"), format!("{b}_DY_ALT=0.0m")])
            .collect()
    }

    fn check(&self) -> Result<()> {
        self.ids().check()?;
        let bad = |m: String| Err(VipError::Internal(m));
        if self.lines == 0 || self.cols == 0 || self.pixel_m <= 0.0 {
            return bad(format!(
                "empty L1C grid: {} × {} pixels of {} m",
                self.lines, self.cols, self.pixel_m
            ));
        }
        if self.angle_grid_step_m < self.pixel_m {
            return bad(format!(
                "angle grid step {} m is finer than the pixel",
                self.angle_grid_step_m
            ));
        }
        if self.aks.len() > 12 {
            return bad(format!("{} Aks for 12 bands", self.aks.len()));
        }
        if self.quantification.is_nan() || self.quantification <= 0.0 {
            return bad(format!(
                "reflectance quantification {} is not positive",
                self.quantification
            ));
        }
        Ok(())
    }

    fn fixed(&self, file_name: String, description: &str, file_type: &str) -> FixedHeader {
        let start = self.acquisition.with_nanosecond(0).expect("zero is valid");
        let stop = if self.acquisition.nanosecond() == 0 {
            start
        } else {
            start + Duration::seconds(1)
        };
        FixedHeader {
            file_name,
            description: description.into(),
            notes: String::new(),
            file_class: self.class.clone(),
            file_type: file_type.into(),
            validity_start: start,
            validity_stop: stop,
            version: 1,
            creator: self.creator.clone(),
            creator_version: self.creator_version.clone(),
            creation_date: self.creation,
        }
    }

    fn image_information(&self, name: &str) -> Node {
        Node::new(name)
            .child(Node::text("Format", "GEOTIFF"))
            .child(Node::text("Binary_Encoding", "LITTLE_ENDIAN"))
            .child(Node::text("Data_Type", "SIGNED_SHORT"))
            .child(Node::text("Number_of_Significant_Bits", 16))
            .child(Node::text("Nodata_Value", self.nodata))
            .child(
                Node::new("Size")
                    .child(Node::text("Lines", self.lines))
                    .child(Node::text("Columns", self.cols))
                    .child(Node::text("Bands", IMAGE_BANDS.len())),
            )
            .child(Node::text("Image_Compacting_Tool", "NO"))
            .child(Node::list(
                "List_of_Bands",
                IMAGE_BANDS
                    .iter()
                    .enumerate()
                    .map(|(i, b)| Node::text("Band", b).attr("sn", i + 1))
                    .collect(),
            ))
    }

    /// Writes the global header, the image header and the SOL and VIE annex headers into
    /// `dir` (creating the `.DBL.DIR`); the rasters are written by the caller at
    /// [`L1c::image_path`] and [`L1c::annex_path`]. Returns the global header path.
    pub fn write_headers(&self, dir: &Path) -> Result<PathBuf> {
        self.check()?;
        let dbl = self.dbl_dir(dir);
        std::fs::create_dir_all(&dbl).map_err(|e| VipError::output_io(&dbl, &e))?;
        self.image_doc().write(&self.image_header_path(dir))?;
        let sol: Vec<String> = SOL_PLANES.iter().map(|s| s.to_string()).collect();
        self.annex_doc(ANNEX_SOL, "Solar angles Grid", &sol)
            .write(&self.annex_header_path(dir, ANNEX_SOL))?;
        self.annex_doc(ANNEX_VIE, "Viewing angles Grid", &L1c::vie_planes())
            .write(&self.annex_header_path(dir, ANNEX_VIE))?;
        let hdr = self.header_path(dir);
        self.global_doc().write(&hdr)?;
        Ok(hdr)
    }

    fn pixel_centre_corners(&self) -> [(f64, f64); 4] {
        let x0 = self.ulx + self.pixel_m / 2.0;
        let y0 = self.uly - self.pixel_m / 2.0;
        let x1 = x0 + (self.cols - 1) as f64 * self.pixel_m;
        let y1 = y0 - (self.lines - 1) as f64 * self.pixel_m;
        [(x0, y0), (x1, y0), (x0, y1), (x1, y1)]
    }

    fn global_doc(&self) -> EeDoc {
        let ids = self.ids();
        let dbl = ids.dbl_dir();
        let (l, c) = (self.lines, self.cols);
        let image_pos = [
            (0, 0),
            (0, c - 1),
            (l - 1, 0),
            (l - 1, c - 1),
            (l / 2, c / 2),
        ];
        let names = [
            "Upper_Left_Corner",
            "Upper_Right_Corner",
            "Lower_Left_Corner",
            "Lower_Right_Corner",
            "Center",
        ];
        let coverage = Node::new("Useful_Image_Geo_Coverage")
            .child(crs("Reference_System", 4326))
            .children((0..5).map(|i| {
                let (lon, lat) = self.corners_lonlat[i];
                Node::new(names[i])
                    .child(unit("Long", dec(lon, 9), "deg"))
                    .child(unit("Lat", dec(lat, 9), "deg"))
                    .child(Node::text("Line", image_pos[i].0))
                    .child(Node::text("Column", image_pos[i].1))
            }));
        let mut dem = Node::new("Used_DEM").child(Node::text("DEM_Reference", &self.dem_reference));
        if let Some((min, max, mean, std)) = self.dem_stats {
            dem = dem.child(
                Node::new("Statistics")
                    .child(unit("Min", num(min), "m"))
                    .child(unit("Max", num(max), "m"))
                    .child(unit("Average", num(mean), "m"))
                    .child(unit("Standard_Deviation", num(std), "m")),
            );
        }
        let info = Node::new("Product_Information")
            .child(Node::text("Product_Level", "L1"))
            .child(Node::text(
                "Acquisition_Date_Time",
                utc_fraction(self.acquisition),
            ))
            .child(unit(
                "Acquisition_Orbit_Number",
                self.orbit.map_or("NIL=N/A".to_string(), |o| o.to_string()),
                "abs",
            ))
            .child(processing_information(self.creation, &self.gipps_used))
            .child(Node::text("Web_Site_URL", WEB_SITE_URL))
            .child(Node::list("List_of_Quality_Indexes", vec![]))
            .child(coverage)
            .child(wavelengths())
            .child(solar_angles(&self.sun))
            .child(viewing_angles(&self.view))
            .child(
                Node::new("Product_Sampling")
                    .child(unit("By_Line", num(self.pixel_m), "m"))
                    .child(unit("By_Column", num(self.pixel_m), "m")),
            )
            .child(
                Node::new("Viewing_Angles_In_Satellite_Frame")
                    .attr("unit", "deg")
                    .child(Node::text("X_Direction", "NONE"))
                    .child(Node::text("Y_Direction", "NONE"))
                    .child(Node::text("XY_Direction", "NONE")),
            )
            .child(Node::text(
                "Reference_SiteDefinition_Id",
                ids.site_definition(),
            ))
            .child(Node::text(
                "Cloud_Percentage",
                self.cloud_percentage
                    .map_or("NIL=N/A".to_string(), |c| dec(c, 1)),
            ))
            .child(dem)
            .child(Node::text(
                "Reflectance_Quantification_Value",
                dec(self.quantification, 6),
            ))
            .child(Node::list(
                "List_of_Aks",
                self.aks
                    .iter()
                    .zip(venus::BANDS.iter())
                    .map(|(a, b)| Node::text("Ak", dec(*a, 5)).attr("sk", b.code))
                    .collect(),
            ))
            .child(Node::list("List_of_Polarization_Coefficients", vec![]))
            .child(
                Node::new("Processing_Flags_And_Modes").children(
                    FLAG_NAMES
                        .iter()
                        .zip(self.flags.values())
                        .map(|(n, v)| boolean(n, v)),
                ),
            )
            .child(Node::text("Used_Reference_Image", "NONE"));
        let [ul, ur, ll, lr] = self.pixel_centre_corners();
        let geo = Node::new("Geo_Referencing_Information")
            .child(
                Node::new("Product_Coverage").child(
                    Node::new("Cartographic")
                        .child(crs("Coordinate_Reference_System", self.epsg))
                        .child(xy("Upper_Left_Corner", ul.0, ul.1))
                        .child(unit(
                            "Width",
                            num((self.cols - 1) as f64 * self.pixel_m),
                            "m",
                        ))
                        .child(unit(
                            "Height",
                            num((self.lines - 1) as f64 * self.pixel_m),
                            "m",
                        ))
                        .child(
                            Node::new("Sampling_Interval")
                                .child(unit("By_Line", num(self.pixel_m), "m"))
                                .child(unit("By_Column", num(self.pixel_m), "m")),
                        ),
                ),
            )
            .child(
                Node::new("Useful_Image_Coverage").child(
                    Node::new("Cartographic")
                        .child(crs("Reference_System", self.epsg))
                        .child(xy("Upper_Left_Corner", ul.0, ul.1))
                        .child(xy("Upper_Right_Corner", ur.0, ur.1))
                        .child(xy("Lower_Left_Corner", ll.0, ll.1))
                        .child(xy("Lower_Right_Corner", lr.0, lr.1)),
                ),
            );
        let image_id = ids.image(None);
        let organization = Node::new("Product_Organization")
            .child(item_ref(
                "Image_File",
                "VSC_PDTIMG",
                &format!("{dbl}/{image_id}.HDR"),
                &image_id,
            ))
            .child(Node::list(
                "List_of_Annex_Files",
                [ANNEX_SOL, ANNEX_VIE]
                    .iter()
                    .map(|code| {
                        let id = ids.annex(code);
                        item_ref("Annex_File", "VSC_PDTANX", &format!("{dbl}/{id}.HDR"), &id)
                            .attr("sk", code)
                    })
                    .collect(),
            ));
        EeDoc {
            layout: Layout::Header,
            xsi_type: "VSC_PDT_L1_Header_Type".into(),
            schema_version: GLOBAL_SCHEMA_VERSION.into(),
            fixed: self.fixed(ids.product(), "L1PublishedProduct", FILE_TYPE),
            extensions: vec![(EXT_INPUT_PRODUCT.into(), self.input_product_id.clone())],
            specific: Node::new("Specific_Product_Header")
                .child(
                    Node::new("Instance_Id")
                        .child(Node::text("Nick_Name", &self.nick))
                        .child(Node::text(
                            "Acquisition_Date",
                            self.date.format("%Y%m%d").to_string(),
                        )),
                )
                .child(info)
                .child(self.image_information("Image_Information"))
                .child(geo)
                .child(organization),
            data_block: None,
        }
    }

    fn sub_instance(&self, annex: Option<&str>) -> Node {
        let mut n = Node::new("Instance_Id")
            .child(Node::text("Reference_Product_Semantic", SEMANTIC))
            .child(Node::text(
                "Reference_Product_Instance",
                self.ids().instance(),
            ));
        if let Some(a) = annex {
            n = n.child(Node::text("Annex_Code", a));
        }
        n
    }

    fn image_doc(&self) -> EeDoc {
        let ids = self.ids();
        EeDoc {
            layout: Layout::Header,
            xsi_type: "PDTIMG_Header_Type".into(),
            schema_version: SUB_SCHEMA_VERSION.into(),
            fixed: self.fixed(ids.image(None), "ImageProduct", "VSC_PDTIMG"),
            extensions: vec![],
            specific: Node::new("Specific_Product_Header")
                .child(self.sub_instance(None))
                .child(Node::text("Reference_Product_Header_Id", ids.product()))
                .child(self.image_information("Image_Information")),
            data_block: None,
        }
    }

    fn annex_doc(&self, code: &str, complete_name: &str, planes: &[String]) -> EeDoc {
        let ids = self.ids();
        let (gl, gc) = self.angle_grid_shape();
        let factor = num(self.angle_grid_step_m / self.pixel_m);
        let info = Node::new("Annex_Information")
            .child(Node::text("Format", "GEOTIFF"))
            .child(Node::text("Binary_Encoding", "LITTLE_ENDIAN"))
            .child(Node::text("Data_Type", "FLOAT"))
            .child(Node::text("Number_of_Significant_Bits", 32))
            .child(Node::text("Nodata_Value", "NaN"))
            .child(
                Node::new("Size")
                    .child(Node::text("Lines", gl))
                    .child(Node::text("Columns", gc))
                    .child(Node::text("Bands", planes.len())),
            )
            .child(Node::text("Image_Compacting_Tool", "NO"))
            .child(Node::list(
                "List_of_Bands",
                planes
                    .iter()
                    .enumerate()
                    .map(|(i, p)| Node::text("Band", p).attr("sn", i + 1))
                    .collect(),
            ))
            .child(
                Node::new("Subsampling_Factor")
                    .child(Node::text("By_Line", &factor))
                    .child(Node::text("By_Column", &factor)),
            )
            .child(Node::text("Values_Unit", GRID_VALUES_UNIT));
        EeDoc {
            layout: Layout::Header,
            xsi_type: "PDTANX_Header_Type".into(),
            schema_version: SUB_SCHEMA_VERSION.into(),
            fixed: self.fixed(ids.annex(code), "AnnexProduct", "VSC_PDTANX"),
            extensions: vec![],
            specific: Node::new("Specific_Product_Header")
                .child(self.sub_instance(Some(code)))
                .child(Node::text("Reference_Product_Header_Id", ids.product()))
                .child(Node::text("Annex_Complete_Name", complete_name))
                .child(info),
            data_block: None,
        }
    }

    /// Reads an L1C from its global header, checking that it is a `VSC_L1VALD` EE header and
    /// that the image and the SOL and VIE annexes it lists (headers and rasters) exist.
    pub fn open(hdr: &Path) -> Result<L1c> {
        let doc = EeDoc::read(hdr)?;
        doc.expect_type(FILE_TYPE, hdr)?;
        let r = Reader::new(hdr);
        let base = hdr.parent().unwrap_or(Path::new("."));
        let sph = &doc.specific;
        let info = r.node(sph, "Product_Information")?;
        let img = r.node(sph, "Image_Information")?;
        let org = r.node(sph, "Product_Organization")?;

        let image_hdr = r.located(base, r.node(org, "Image_File")?)?;
        must_exist(&raster_beside(&image_hdr), "L1C image")?;
        let mut grid_factor = None;
        for code in [ANNEX_SOL, ANNEX_VIE] {
            let annex = r
                .node(org, "List_of_Annex_Files")?
                .all("Annex_File")
                .find(|a| a.get_attr("sk") == Some(code))
                .ok_or_else(|| r.bad(format!("no {code} annex in List_of_Annex_Files")))?;
            let annex_hdr = r.located(base, annex)?;
            must_exist(&raster_beside(&annex_hdr), &format!("{code} annex raster"))?;
            if code == ANNEX_SOL {
                let a = EeDoc::read(&annex_hdr)?;
                a.expect_type("VSC_PDTANX", &annex_hdr)?;
                let ar = Reader::new(&annex_hdr);
                grid_factor =
                    Some(ar.f64(&a.specific, "Annex_Information/Subsampling_Factor/By_Line")?);
            }
        }

        let carto = r.node(
            sph,
            "Geo_Referencing_Information/Product_Coverage/Cartographic",
        )?;
        let code = r.text(carto, "Coordinate_Reference_System/Code")?;
        let epsg = code
            .strip_prefix("EPSG:")
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| r.bad(format!("'{code}' is not an EPSG:n code")))?;
        let pixel_m = r.f64(carto, "Sampling_Interval/By_Column")?;
        let nodata_text = r.text(img, "Nodata_Value")?;
        let nodata = nodata_text
            .parse()
            .map_err(|_| r.bad(format!("Nodata_Value '{nodata_text}' is not an int16")))?;

        let coverage = r.node(info, "Useful_Image_Geo_Coverage")?;
        let mut corners_lonlat = [(0.0, 0.0); 5];
        for (i, p) in [
            "Upper_Left_Corner",
            "Upper_Right_Corner",
            "Lower_Left_Corner",
            "Lower_Right_Corner",
            "Center",
        ]
        .iter()
        .enumerate()
        {
            corners_lonlat[i] = (
                r.f64(coverage, &format!("{p}/Long"))?,
                r.f64(coverage, &format!("{p}/Lat"))?,
            );
        }
        let orbit_text = r.text(info, "Acquisition_Orbit_Number")?;
        let orbit = if orbit_text.starts_with("NIL=") {
            None
        } else {
            Some(orbit_text.parse().map_err(|_| {
                r.bad(format!(
                    "Acquisition_Orbit_Number '{orbit_text}' is not an orbit number"
                ))
            })?)
        };
        let cloud_text = r.text(info, "Cloud_Percentage")?;
        let cloud_percentage = if cloud_text.starts_with("NIL=") {
            None
        } else {
            Some(r.f64(info, "Cloud_Percentage")?)
        };
        let dem = r.node(info, "Used_DEM")?;
        let dem_stats = match dem.get("Statistics") {
            Some(s) => Some((
                r.f64(s, "Min")?,
                r.f64(s, "Max")?,
                r.f64(s, "Average")?,
                r.f64(s, "Standard_Deviation")?,
            )),
            None => None,
        };
        let aks = r
            .node(info, "List_of_Aks")?
            .all("Ak")
            .map(|a| {
                a.text
                    .trim()
                    .parse()
                    .map_err(|_| r.bad(format!("Ak '{}' is not a number", a.text.trim())))
            })
            .collect::<Result<Vec<f64>>>()?;
        let flags_node = r.node(info, "Processing_Flags_And_Modes")?;
        let mut flags = [false; 9];
        for (f, name) in flags.iter_mut().zip(FLAG_NAMES) {
            *f = r.bool(flags_node, name)?;
        }
        Ok(L1c {
            class: doc.fixed.file_class.clone(),
            nick: r.text(sph, "Instance_Id/Nick_Name")?.to_string(),
            date: r.date(sph, "Instance_Id/Acquisition_Date")?,
            acquisition: r.utc(info, "Acquisition_Date_Time")?,
            orbit,
            epsg,
            ulx: r.f64(carto, "Upper_Left_Corner/X")? - pixel_m / 2.0,
            uly: r.f64(carto, "Upper_Left_Corner/Y")? + pixel_m / 2.0,
            pixel_m,
            lines: r.usize(img, "Size/Lines")?,
            cols: r.usize(img, "Size/Columns")?,
            quantification: r.f64(info, "Reflectance_Quantification_Value")?,
            nodata,
            gipps_used: r.gipps(info)?,
            input_product_id: doc
                .extension(EXT_INPUT_PRODUCT)
                .unwrap_or_default()
                .to_string(),
            sun: r.angles(r.node(info, "Solar_Angles/Useful_Image")?)?,
            view: r.viewing_angles(info)?,
            corners_lonlat,
            cloud_percentage,
            dem_reference: r.text(dem, "DEM_Reference")?.to_string(),
            dem_stats,
            aks,
            flags: ProcessingFlags::from_values(flags),
            angle_grid_step_m: grid_factor.unwrap_or(1.0) * pixel_m,
            creation: doc.fixed.creation_date,
            creator: doc.fixed.creator.clone(),
            creator_version: doc.fixed.creator_version.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").unwrap()
    }

    fn sample() -> L1c {
        let mut view = [AngleSet::uniform(18.654321, 105.123456); 4];
        view[2].zenith[4] = 3.5;
        view[3].azimuth[0] = 284.25;
        L1c {
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
            input_product_id: "VE_TEST_VSC_1AVALD_CAMARGUE_20180101".into(),
            sun: AngleSet {
                zenith: [67.1, 67.2, 67.3, 67.4, 67.25],
                azimuth: [158.5, 158.6, 158.4, 158.55, 158.512345],
            },
            view,
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
            flags: ProcessingFlags {
                equalization: true,
                straylight_t1: true,
                straylight_t2: true,
                ..Default::default()
            },
            angle_grid_step_m: 5000.0,
            creation: t("2024-11-24T12:00:00"),
            creator: "vip-l1".into(),
            creator_version: "0.1.0".into(),
        }
    }

    fn touch_rasters(p: &L1c, dir: &Path) {
        std::fs::write(p.image_path(dir), b"").unwrap();
        for code in [ANNEX_SOL, ANNEX_VIE] {
            std::fs::write(p.annex_path(dir, code), b"").unwrap();
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
        assert_eq!(p.angle_grid_shape(), (7, 7));
        let mut q = sample();
        q.lines = 1000; // exactly 5 km: nodes 0 and 5 km.
        assert_eq!(q.angle_grid_shape().0, 2);
        assert_eq!(IMAGE_BANDS[SAT_BAND - 1], "SAT");
        assert_eq!(IMAGE_BANDS[PIX_BAND - 1], "PIX");
        assert_eq!(IMAGE_BANDS[CLD_BAND - 1], "CLD");
        for (d, b) in VIE_BANDS.iter().enumerate() {
            assert_eq!(venus::band_by_code(b).unwrap().detector as usize, d + 1);
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
        crate::ee::validate_against_icd(&[&hdr, &image, &sol, &vie]).unwrap();
        // Optional parts absent.
        let mut q = sample();
        q.cloud_percentage = None;
        q.dem_stats = None;
        q.dem_reference = "NONE".into();
        q.gipps_used.clear();
        q.aks.clear();
        let dir2 = tempfile::tempdir().unwrap();
        let hdr2 = q.write_headers(dir2.path()).unwrap();
        crate::ee::validate_against_icd(&[&hdr2]).unwrap();
        // The check has teeth: a second decimal on the cloud percentage is refused.
        let text = std::fs::read_to_string(&hdr).unwrap();
        std::fs::write(
            &hdr,
            text.replace("<Cloud_Percentage>12.5<", "<Cloud_Percentage>12.55<"),
        )
        .unwrap();
        assert!(crate::ee::validate_against_icd(&[&hdr]).is_err());
    }

    #[test]
    fn write_then_open_gives_the_same_model() {
        let dir = tempfile::tempdir().unwrap();
        let p = sample();
        let hdr = p.write_headers(dir.path()).unwrap();
        touch_rasters(&p, dir.path());
        assert_eq!(L1c::open(&hdr).unwrap(), p);
        let mut q = sample();
        q.cloud_percentage = None;
        q.dem_stats = None;
        q.aks.truncate(3);
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
