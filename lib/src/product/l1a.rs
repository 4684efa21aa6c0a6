//! Raw L1A product: one image per band in sensor geometry (lines × detectors), the input of
//! `vip-straylight` and `vip-l1`. It follows the ICD system-product interface of level 1A
//! (ICD-DIGEST §2.4), file semantic `1AVALD`.
//!
//! Files, for class `c`, site nick `NICK` (8 characters) and acquisition date `D` (`yyyymmdd`):
//! ```text
//! VE_c_VSC_1AVALD_NICK_D.HDR                 global header, VSC_PDTSYS_Header_Type (File_Type
//!                                            VSC_1AVALD): product information, band list,
//!                                            List_of_Image_Files (one per band), private file
//! VE_c_VSC_1AVALD_NICK_D.DBL.DIR/
//!   VE_c_VSC_PDTIMG_1AVALD_NICK_D_Bnn.HDR    one per band, PDTIMG_Header_Type: lines, columns
//!   VE_c_VSC_PDTIMG_1AVALD_NICK_D_Bnn.DBL.TIF  the band: TIFF (no geo-referencing), uint16,
//!                                            lines × columns, raw counts with 10 significant
//!                                            bits (0-1023); column j is detector
//!                                            first_detector + j of the 5200-detector array
//!   VE_c_TEC_1AVALD_NICK_D.EEF               private technical data, TEC_PDTSYS_File_Type:
//!                                            per band line datation model, TDI configuration
//!                                            and line interval; heading (Cape), attitude,
//!                                            nadir point, along-track/along-detector resolution
//! ```
//! Line datation: t(line) = Te · (line − Line_Ref) + Time_Ref, Time_Ref written as
//! `MJD=<days since 2000-01-01T12:00 UTC>` (12 fraction digits, microseconds kept), Te the line
//! period in seconds, lines counted from 0.
//!
//! Values the ICD has no element for are `Main_Product_Header/List_of_Extensions` entries of the
//! global header: [`EXT_ALTITUDE`] (satellite altitude above the ellipsoid, m),
//! [`EXT_GROUND_SPEED`] (speed of the nadir point on the ground, m/s) and
//! [`EXT_FIRST_DETECTOR`] (0-based index in the 5200-detector array of image column 0).
//!
//! The product has no quicklooks and no SAT/PIX mask files (both optional in the schema). The
//! footprint, sun and viewing angles of the global header are informative approximations made
//! from the nadir point, attitude and resolutions (flat Earth around the scene, low-precision
//! sun position); they are written for readers of the header and are not read back.
//! Fields the raw simulation does not model are written with neutral values: Earth rotation
//! parameters 0, gains and offsets 0, no auxiliary data files, a geometric model and an
//! inventoried raw product referenced by id only.

use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate, NaiveDateTime, Timelike};

use super::common::{
    boolean, dec, item_ref, mjd_text, must_exist, num, parse_mjd, processing_information,
    raster_beside, solar_angles, unit, utc_fraction, viewing_angles, wavelengths, AngleSet, Reader,
};
use crate::ee::ProductId;
use crate::ee::{EeDoc, FixedHeader, Layout, Node};
use crate::error::{Result, VipError};
use crate::mission::venus;

/// File semantic of the raw product (level 1A, valid).
pub const SEMANTIC: &str = "1AVALD";
/// `File_Type` of the global header.
pub const FILE_TYPE: &str = "VSC_1AVALD";
/// `File_Type` of the private technical file.
pub const TEC_FILE_TYPE: &str = "TEC_1AVALD";
/// Extension keyword: satellite altitude, metres.
pub const EXT_ALTITUDE: &str = "SATELLITE_ALTITUDE_M";
/// Extension keyword: ground speed of the nadir point, m/s.
pub const EXT_GROUND_SPEED: &str = "GROUND_SPEED_M_S";
/// Extension keyword: 0-based detector index of image column 0.
pub const EXT_FIRST_DETECTOR: &str = "FIRST_DETECTOR_INDEX";
/// `Nodata_Value` written in the image headers: outside the 10-bit range, so never a pixel.
pub const RAW_NODATA: i64 = 65535;
/// TDI configurations the camera offers.
pub const TDI_VALUES: [u8; 5] = [1, 4, 8, 16, 32];

const GLOBAL_SCHEMA_VERSION: &str = "1.6";
const IMAGE_SCHEMA_VERSION: &str = "0.42";
const TEC_SCHEMA_VERSION: &str = "0.42";
const WEB_SITE_URL: &str = "https://venus.cnes.fr";

/// A raw L1A product (header model; the pixels are in the band files it names).
#[derive(Debug, Clone, PartialEq)]
pub struct L1a {
    /// File class: `TEST`, `OPER`, ...
    pub class: String,
    /// Site nick name, exactly 8 characters `[0-9A-Z_]`.
    pub nick: String,
    /// Acquisition date (the date in the ids).
    pub date: NaiveDate,
    /// Acquisition time at the scene centre.
    pub acquisition: NaiveDateTime,
    /// Absolute orbit number of the acquisition (`None`: `NIL=N/A`).
    pub orbit: Option<u32>,
    /// The band images, in product order.
    pub bands: Vec<RawBand>,
    pub geometry: RawGeometry,
    /// Creation time of the headers (whole seconds).
    pub creation: NaiveDateTime,
    /// Program that wrote the product, e.g. `vip-sim`.
    pub creator: String,
    /// Set when the product was corrected for stray light: its images are then float32 counts.
    pub straylight: Option<StraylightCorrection>,
    /// The acquisition's auxiliary data files (GPS ephemeris, attitude).
    pub auxiliary: Vec<AuxiliaryFile>,
}

/// A reference to an auxiliary data file of the acquisition (the technical file's
/// `List_of_Auxiliary_Data_Files`): found by its logical name, outside the product.
#[derive(Debug, Clone, PartialEq)]
pub struct AuxiliaryFile {
    /// ICD code: `GPS` (an `AUX_GPSDTA`) or `AOCS` (an `AUX_AOCDTA`).
    pub code: String,
    pub name: String,
}

impl AuxiliaryFile {
    /// The file type the code stands for.
    pub fn file_type(&self) -> &'static str {
        match self.code.as_str() {
            "GPS" => "AUX_GPSDTA",
            "AOCS" => "AUX_AOCDTA",
            _ => "AUX_OTHER",
        }
    }
}

/// The record of a stray-light correction (vip-straylight) in a raw product.
#[derive(Debug, Clone, PartialEq)]
pub struct StraylightCorrection {
    /// STRLGT GIPPs used: (`GIP_STRLGT`, logical id).
    pub gipps: Vec<(String, String)>,
    /// Type 1 (in-band) and type 2 (cross-talk) corrections applied.
    pub type1: bool,
    pub type2: bool,
    /// Fixed-point iterations run, and the last iteration's largest change relative to the
    /// mean signal.
    pub iterations: usize,
    pub residual: f64,
}

/// Extension keyword: iterations of the stray-light correction.
pub const EXT_STRAYLIGHT_ITERATIONS: &str = "STRAYLIGHT_ITERATIONS";
/// Extension keyword: last relative update of the stray-light correction.
pub const EXT_STRAYLIGHT_RESIDUAL: &str = "STRAYLIGHT_RESIDUAL";

/// One band image of a raw product.
#[derive(Debug, Clone, PartialEq)]
pub struct RawBand {
    /// `B01` … `B12`.
    pub code: String,
    pub lines: usize,
    pub cols: usize,
    /// TDI configuration (number of stages) used for the band: 1, 4, 8, 16 or 32.
    pub tdi: u8,
    pub datation: LineDatation,
}

/// Line datation model: t(line) = te · (line − line_ref) + time_ref.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LineDatation {
    pub line_ref: f64,
    /// Time of line `line_ref`, kept to the microsecond.
    pub time_ref: NaiveDateTime,
    /// Line period, seconds.
    pub te: f64,
}

impl LineDatation {
    /// Acquisition time of (possibly fractional) line `line`, to the nanosecond.
    pub fn time_of_line(&self, line: f64) -> NaiveDateTime {
        let s = self.te * (line - self.line_ref);
        self.time_ref + Duration::nanoseconds((s * 1e9).round() as i64)
    }
}

/// Attitude and orbit values at the scene centre that geometry needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawGeometry {
    /// Heading of the ground track (ICD `Cape`), degrees clockwise from north.
    pub heading_deg: f64,
    pub roll_deg: f64,
    pub pitch_deg: f64,
    pub yaw_deg: f64,
    /// Nadir point at the middle of the acquisition, degrees.
    pub nadir_lat: f64,
    pub nadir_lon: f64,
    /// Satellite altitude, metres (extension [`EXT_ALTITUDE`]).
    pub altitude_m: f64,
    /// Ground speed of the nadir point, m/s (extension [`EXT_GROUND_SPEED`]).
    pub ground_speed_m_s: f64,
    /// 0-based index in the 5200-detector array of image column 0 (extension
    /// [`EXT_FIRST_DETECTOR`]).
    pub first_detector: usize,
    pub along_track_resolution_m: f64,
    pub along_detector_resolution_m: f64,
}

impl L1a {
    fn ids(&self) -> ProductId {
        ProductId::of(&self.class, SEMANTIC, &self.nick, self.date)
    }

    /// The product id, `VE_<class>_VSC_1AVALD_<nick>_<yyyymmdd>`.
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

    /// The header of band `band` (`B01`…): `…DBL.DIR/VE_<class>_VSC_PDTIMG_1AVALD_<inst>_Bnn.HDR`.
    pub fn band_header_path(&self, dir: &Path, band: &str) -> PathBuf {
        self.ids().image_header(dir, Some(band))
    }

    /// The raster of band `band`: `…DBL.DIR/VE_<class>_VSC_PDTIMG_1AVALD_<inst>_Bnn.DBL.TIF`.
    pub fn band_image_path(&self, dir: &Path, band: &str) -> PathBuf {
        raster_beside(&self.band_header_path(dir, band))
    }

    /// The private technical file: `…DBL.DIR/VE_<class>_TEC_1AVALD_<inst>.EEF`.
    pub fn technical_path(&self, dir: &Path) -> PathBuf {
        let ids = self.ids();
        ids.in_dbl(dir, &format!("{}.EEF", ids.technical()))
    }

    /// The band with code `code`.
    pub fn band(&self, code: &str) -> Option<&RawBand> {
        self.bands.iter().find(|b| b.code == code)
    }

    fn check(&self) -> Result<()> {
        self.ids().check()?;
        if self.bands.is_empty() || self.bands.len() > 12 {
            return Err(VipError::Internal(format!(
                "a raw product has 1 to 12 bands, not {}",
                self.bands.len()
            )));
        }
        for (i, b) in self.bands.iter().enumerate() {
            if venus::band_by_code(&b.code).map(|x| x.code) != Some(b.code.as_str()) {
                return Err(VipError::Internal(format!(
                    "'{}' is not a band code",
                    b.code
                )));
            }
            if self.bands[..i].iter().any(|o| o.code == b.code) {
                return Err(VipError::Internal(format!("band {} given twice", b.code)));
            }
            if !TDI_VALUES.contains(&b.tdi) {
                return Err(VipError::Internal(format!(
                    "band {}: TDI {} is not one of 1, 4, 8, 16, 32",
                    b.code, b.tdi
                )));
            }
            if b.lines == 0 || b.cols == 0 {
                return Err(VipError::Internal(format!("band {} is empty", b.code)));
            }
            if mjd_text(b.datation.time_ref).is_none() {
                return Err(VipError::Internal(format!(
                    "band {}: datation reference time before 2000-01-01T12:00",
                    b.code
                )));
            }
        }
        Ok(())
    }

    /// Validity period of the files: from the first to the last line time, to whole seconds.
    fn validity(&self) -> (NaiveDateTime, NaiveDateTime) {
        let mut start = self.acquisition;
        let mut stop = self.acquisition;
        for b in &self.bands {
            for l in [0.0, (b.lines - 1) as f64] {
                let t = b.datation.time_of_line(l);
                start = start.min(t);
                stop = stop.max(t);
            }
        }
        let floor = |t: NaiveDateTime| t.with_nanosecond(0).expect("zero is valid");
        let ceil = |t: NaiveDateTime| {
            if t.nanosecond() == 0 {
                t
            } else {
                floor(t) + Duration::seconds(1)
            }
        };
        (floor(start), ceil(stop))
    }

    fn fixed(&self, file_name: String, description: &str, file_type: &str) -> FixedHeader {
        let (validity_start, validity_stop) = self.validity();
        FixedHeader {
            file_name,
            description: description.into(),
            notes: String::new(),
            file_class: self.class.clone(),
            file_type: file_type.into(),
            validity_start,
            validity_stop,
            version: 1,
            creator: self.creator.clone(),
            creator_version: env!("CARGO_PKG_VERSION").into(),
            creation_date: self.creation,
        }
    }

    fn instance_id(&self) -> Node {
        Node::new("Instance_Id")
            .child(Node::text("Nick_Name", &self.nick))
            .child(Node::text(
                "Acquisition_Date",
                self.date.format("%Y%m%d").to_string(),
            ))
    }

    /// Writes the global header, one image header per band and the technical file into
    /// `dir` (creating the `.DBL.DIR`); the band rasters are written by the caller at
    /// [`L1a::band_image_path`]. Returns the global header path.
    pub fn write_headers(&self, dir: &Path) -> Result<PathBuf> {
        self.check()?;
        let dbl = self.dbl_dir(dir);
        std::fs::create_dir_all(&dbl).map_err(|e| VipError::output_io(&dbl, &e))?;
        for b in &self.bands {
            self.band_doc(b)
                .write(&self.band_header_path(dir, &b.code))?;
        }
        self.technical_doc().write(&self.technical_path(dir))?;
        let hdr = self.header_path(dir);
        self.global_doc().write(&hdr)?;
        Ok(hdr)
    }

    fn global_doc(&self) -> EeDoc {
        let ids = self.ids();
        let g = &self.geometry;
        let (corners, sun, view) = self.approximate_footprint();
        let same_lines = self.bands.iter().all(|b| b.lines == self.bands[0].lines);
        let lines = if same_lines {
            self.bands[0].lines.to_string()
        } else {
            "NIL=VARIABLE_BY_BAND".to_string()
        };
        let cols = self.bands.iter().map(|b| b.cols).max().unwrap_or(0);
        let dbl = ids.dbl_dir();
        let coverage = Node::new("Useful_Image_Geo_Coverage")
            .child(
                Node::new("Reference_System")
                    .child(Node::text("Code", "EPSG:4326"))
                    .child(Node::text("Short_Description", "WGS 84")),
            )
            .children(
                corners
                    .iter()
                    .zip(super::common::POINTS)
                    .map(|((lon, lat), p)| {
                        let name = if p == "Image_Center" { "Center" } else { p };
                        Node::new(name)
                            .child(unit("Long", dec(*lon, 9), "deg"))
                            .child(unit("Lat", dec(*lat, 9), "deg"))
                    }),
            );
        let (x, y) = (g.pitch_deg, g.roll_deg);
        let xy = x
            .to_radians()
            .tan()
            .hypot(y.to_radians().tan())
            .atan()
            .to_degrees();
        let info = Node::new("Product_Information")
            .child(Node::text("Product_Level", "L1A"))
            .child(Node::text(
                "Acquisition_Date_Time",
                utc_fraction(self.acquisition),
            ))
            .child(unit(
                "Acquisition_Orbit_Number",
                self.orbit.map_or("NIL=N/A".to_string(), |o| o.to_string()),
                "abs",
            ))
            .child(processing_information(
                self.creation,
                self.straylight.as_ref().map_or(&[][..], |s| &s.gipps),
            ))
            .child(Node::text("Web_Site_URL", WEB_SITE_URL))
            .child(Node::list("List_of_Quality_Indexes", vec![]))
            .child(coverage)
            .child(wavelengths())
            .child(solar_angles(&sun))
            .child(viewing_angles(&[view; 4]))
            .child(
                Node::new("Product_Sampling")
                    .child(unit("By_Line", num(g.along_track_resolution_m), "m"))
                    .child(unit("By_Column", num(g.along_detector_resolution_m), "m")),
            )
            .child(
                Node::new("Viewing_Angles_In_Satellite_Frame")
                    .attr("unit", "deg")
                    .child(Node::text("X_Direction", dec(x, 6)))
                    .child(Node::text("Y_Direction", dec(y, 6)))
                    .child(Node::text("XY_Direction", dec(xy, 6))),
            )
            .child(Node::text(
                "Reference_SiteDefinition_Id",
                ids.site_definition(),
            ))
            .child(Node::text("Cloud_Percentage", "NIL=N/A"))
            .child(Node::new("Used_DEM").child(Node::text("DEM_Reference", "NONE")))
            .child(Node::text("Reflectance_Quantification_Value", "NONE"))
            .child(Node::list("List_of_Aks", vec![]))
            .child(Node::list("List_of_Polarization_Coefficients", vec![]))
            .child(
                Node::new("Processing_Flags_And_Modes").children(
                    [
                        "Equalization",
                        "Bad_Pixels_Correction",
                        "Restoration",
                        "Remanence",
                        "Straylight_T1",
                        "Straylight_T2",
                        "Polarization",
                        "Geometrical_Refinement_With_Ref_Image",
                        "Interband_Geometrical_Refinement",
                    ]
                    .into_iter()
                    .map(|f| {
                        let sl = self.straylight.as_ref();
                        let on = match f {
                            "Straylight_T1" => sl.is_some_and(|s| s.type1),
                            "Straylight_T2" => sl.is_some_and(|s| s.type2),
                            _ => false,
                        };
                        boolean(f, on)
                    }),
                ),
            )
            .child(Node::text("Used_Reference_Image", "NONE"));
        let image = image_information(
            "TIFF",
            self.straylight.is_some(),
            &lines,
            cols,
            self.bands.iter().map(|b| b.code.as_str()),
        );
        let organization = Node::new("Product_Organization")
            .child(Node::list(
                "List_of_Image_Files",
                self.bands
                    .iter()
                    .map(|b| {
                        let id = ids.image(Some(&b.code));
                        item_ref("Image_File", "VSC_PDTIMG", &format!("{dbl}/{id}.HDR"), &id)
                            .attr("sk", &b.code)
                    })
                    .collect(),
            ))
            .child(Node::list("List_of_Quicklook_Files", vec![]))
            .child(item_ref(
                "Private_Data_File",
                TEC_FILE_TYPE,
                &format!("{dbl}/{}.EEF", ids.technical()),
                &ids.technical(),
            ));
        EeDoc {
            layout: Layout::Header,
            xsi_type: "VSC_PDTSYS_Header_Type".into(),
            schema_version: GLOBAL_SCHEMA_VERSION.into(),
            fixed: self.fixed(ids.to_string(), "SystemProduct", FILE_TYPE),
            extensions: [
                (EXT_ALTITUDE.into(), num(g.altitude_m)),
                (EXT_GROUND_SPEED.into(), num(g.ground_speed_m_s)),
                (EXT_FIRST_DETECTOR.into(), g.first_detector.to_string()),
            ]
            .into_iter()
            .chain(self.straylight.iter().flat_map(|s| {
                [
                    (
                        EXT_STRAYLIGHT_ITERATIONS.to_string(),
                        s.iterations.to_string(),
                    ),
                    (
                        EXT_STRAYLIGHT_RESIDUAL.to_string(),
                        format!("{:.3e}", s.residual),
                    ),
                ]
            }))
            .collect(),
            specific: Node::new("Specific_Product_Header")
                .child(self.instance_id())
                .child(info)
                .child(image)
                .child(organization),
            data_block: None,
        }
    }

    fn band_doc(&self, b: &RawBand) -> EeDoc {
        let ids = self.ids();
        EeDoc {
            layout: Layout::Header,
            xsi_type: "PDTIMG_Header_Type".into(),
            schema_version: IMAGE_SCHEMA_VERSION.into(),
            fixed: self.fixed(ids.image(Some(&b.code)), "ImageProduct", "VSC_PDTIMG"),
            extensions: vec![],
            specific: Node::new("Specific_Product_Header")
                .child(
                    Node::new("Instance_Id")
                        .child(Node::text("Reference_Product_Semantic", SEMANTIC))
                        .child(Node::text("Reference_Product_Instance", ids.instance()))
                        .child(Node::text("Band_Code", &b.code)),
                )
                .child(Node::text("Reference_Product_Header_Id", ids.to_string()))
                .child(image_information(
                    "TIFF",
                    self.straylight.is_some(),
                    &b.lines.to_string(),
                    b.cols,
                    [b.code.as_str()],
                )),
            data_block: None,
        }
    }

    fn technical_doc(&self) -> EeDoc {
        let ids = self.ids();
        let g = &self.geometry;
        let tdi: Vec<String> = venus::BANDS
            .iter()
            .map(|vb| format!("{:02}", self.band(vb.code).map_or(1, |b| b.tdi)))
            .collect();
        let zeros = ["0"; 12].join(" ");
        let private = Node::new("Private_Product_Information")
            .child(
                Node::new("Earth_Rotation_Parameters")
                    .child(unit("X_Pole", "0", "arcsec"))
                    .child(unit("Y_Pole", "0", "arcsec"))
                    .child(unit("Delta_TU1-TUC", "0", "s")),
            )
            .child(Node::list(
                "List_of_Datation_Line_Models",
                self.bands
                    .iter()
                    .map(|b| {
                        let d = &b.datation;
                        Node::new("Datation_Line_Model")
                            .attr("sk", &b.code)
                            .child(Node::text("Line_Ref", num(d.line_ref)))
                            .child(unit(
                                "Time_Ref",
                                mjd_text(d.time_ref).expect("checked before writing"),
                                "day",
                            ))
                            .child(unit("Te", num(d.te), "s"))
                    })
                    .collect(),
            ))
            .child(unit("Cape", dec(g.heading_deg, 9), "deg"))
            .child(
                Node::new("Attitude")
                    .child(unit("Roll", dec(g.roll_deg, 9), "deg"))
                    .child(unit("Pitch", dec(g.pitch_deg, 9), "deg"))
                    .child(unit("Yaw", dec(g.yaw_deg, 9), "deg")),
            )
            .child(
                Node::new("Nadir")
                    .child(unit("Long", dec(g.nadir_lon, 9), "deg"))
                    .child(unit("Lat", dec(g.nadir_lat, 9), "deg")),
            )
            .child(unit("Geom_Slide_Angle", "0", "deg"))
            .child(unit(
                "Along_Track_Resolution",
                num(g.along_track_resolution_m),
                "m",
            ))
            .child(unit(
                "Along_Detector_Resolution",
                num(g.along_detector_resolution_m),
                "m",
            ))
            .child(
                Node::new("Acquisition_Tech_Params_Set")
                    .child(Node::text("TDI_Configuration_Values", tdi.join(" ")))
                    .child(Node::text("Left_Gain_Values", &zeros))
                    .child(Node::text("Left_Offset_Values", &zeros))
                    .child(Node::text("Right_Gain_Values", &zeros))
                    .child(Node::text("Right_Offset_Values", &zeros)),
            )
            .child(Node::list(
                "List_of_Line_Intervals",
                self.bands
                    .iter()
                    .map(|b| {
                        Node::new("Line_Interval")
                            .attr("sk", &b.code)
                            .child(Node::text("First", 0))
                            .child(Node::text("Last", b.lines - 1))
                    })
                    .collect(),
            ))
            .child(Node::text(
                "Used_InventoriedRaw_Product_Id",
                format!("VE_{}_VSC_PDTINV_00000_VEN_KRN_00000_00000_0", self.class),
            ));
        let organization = Node::new("Private_Product_Organization")
            .child(Node::list(
                "List_of_Auxiliary_Data_Files",
                self.auxiliary
                    .iter()
                    .map(|a| {
                        item_ref(
                            "Auxiliary_Data_File",
                            a.file_type(),
                            "NIL=OTHER:EXTERNAL",
                            &a.name,
                        )
                        .attr("sk", &a.code)
                    })
                    .collect(),
            ))
            .child(item_ref(
                "Geom_Refinement_File",
                "TEC_GEOMDL",
                "NIL=OTHER:EXTERNAL",
                &ids.geometric_model(),
            ));
        EeDoc {
            layout: Layout::File,
            xsi_type: "TEC_PDTSYS_File_Type".into(),
            schema_version: TEC_SCHEMA_VERSION.into(),
            fixed: self.fixed(ids.technical(), "SystemProductTechnicalData", TEC_FILE_TYPE),
            extensions: vec![],
            specific: Node::new("Specific_Product_Header")
                .child(self.instance_id())
                .child(Node::text("Reference_Product_Header_Id", ids.to_string()))
                .child(private)
                .child(organization),
            data_block: Some(Node::new("Data_Block")),
        }
    }

    /// Informative footprint (lon, lat of UL, UR, LL, LR, centre), sun angles and viewing
    /// angles of the scene, from the nadir point, attitude, heading and resolutions on a
    /// locally flat spherical Earth. Image lines run along the heading, columns to its right.
    fn approximate_footprint(&self) -> ([(f64, f64); 5], AngleSet, AngleSet) {
        const M_PER_DEG: f64 = 111_195.0;
        let g = &self.geometry;
        let lines = self.bands.iter().map(|b| b.lines).max().unwrap_or(1) as f64;
        let cols = self.bands.iter().map(|b| b.cols).max().unwrap_or(1) as f64;
        let h = g.heading_deg.to_radians();
        let (along_n, along_e) = (h.cos(), h.sin());
        let (right_n, right_e) = (-h.sin(), h.cos());
        let along_off = g.altitude_m * g.pitch_deg.to_radians().tan();
        let right_off = g.altitude_m * g.roll_deg.to_radians().tan();
        let lonlat = |a: f64, r: f64| {
            let n = a * along_n + r * right_n;
            let e = a * along_e + r * right_e;
            let lat = g.nadir_lat + n / M_PER_DEG;
            let lon = g.nadir_lon + e / (M_PER_DEG * g.nadir_lat.to_radians().cos().max(0.01));
            (lon, lat.clamp(-90.0, 90.0))
        };
        let half_a = lines / 2.0 * g.along_track_resolution_m;
        let half_r = cols / 2.0 * g.along_detector_resolution_m;
        let corners = [
            lonlat(along_off + half_a, right_off - half_r),
            lonlat(along_off + half_a, right_off + half_r),
            lonlat(along_off - half_a, right_off - half_r),
            lonlat(along_off - half_a, right_off + half_r),
            lonlat(along_off, right_off),
        ];
        let mut sun = AngleSet::default();
        for (i, (lon, lat)) in corners.iter().enumerate() {
            let (z, a) = approximate_sun(self.acquisition, *lat, *lon);
            sun.zenith[i] = z;
            sun.azimuth[i] = a;
        }
        // Direction from the scene centre back to the nadir point.
        let (n, e) = (
            -(along_off * along_n + right_off * right_n),
            -(along_off * along_e + right_off * right_e),
        );
        let zenith = (n.hypot(e) / g.altitude_m.max(1.0)).atan().to_degrees();
        let azimuth = if n == 0.0 && e == 0.0 {
            0.0
        } else {
            e.atan2(n).to_degrees().rem_euclid(360.0)
        };
        (corners, sun, AngleSet::uniform(zenith, azimuth))
    }

    /// Reads a raw product from its global header, checking that it is a `VSC_1AVALD` EE
    /// header, that every band image it lists (header and raster) and the technical file
    /// exist, and that the technical file dates every band.
    pub fn open(hdr: &Path) -> Result<L1a> {
        let doc = EeDoc::read(hdr)?;
        doc.expect_type(FILE_TYPE, hdr)?;
        let r = Reader::new(hdr);
        let base = hdr.parent().unwrap_or(Path::new("."));
        let sph = &doc.specific;
        let info = r.node(sph, "Product_Information")?;
        let ext = |k: &str| -> Result<f64> {
            let v = doc
                .extension(k)
                .ok_or_else(|| r.bad(format!("no extension {k} in List_of_Extensions")))?;
            v.parse()
                .map_err(|_| r.bad(format!("extension {k} '{v}' is not a number")))
        };
        let first_detector = ext(EXT_FIRST_DETECTOR)?;
        if first_detector < 0.0 || first_detector.fract() != 0.0 {
            return Err(r.bad(format!(
                "extension {EXT_FIRST_DETECTOR} is not a detector index"
            )));
        }
        let org = r.node(sph, "Product_Organization")?;
        let tec_path = r.located(base, r.node(org, "Private_Data_File")?)?;
        let tec = EeDoc::read(&tec_path)?;
        tec.expect_type(TEC_FILE_TYPE, &tec_path)?;
        let t = Reader::new(&tec_path);
        let private = t.node(&tec.specific, "Private_Product_Information")?;
        let tdi_text = t.text(
            private,
            "Acquisition_Tech_Params_Set/TDI_Configuration_Values",
        )?;
        let tdis: Vec<u8> = tdi_text
            .split_whitespace()
            .map(|s| s.parse::<u8>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| t.bad(format!("TDI_Configuration_Values '{tdi_text}'")))?;
        let models = t.node(private, "List_of_Datation_Line_Models")?;
        let auxiliary = t
            .node(
                &tec.specific,
                "Private_Product_Organization/List_of_Auxiliary_Data_Files",
            )?
            .all("Auxiliary_Data_File")
            .map(|f| {
                Ok(AuxiliaryFile {
                    code: f
                        .get_attr("sk")
                        .ok_or_else(|| t.bad("Auxiliary_Data_File without a code (sk)"))?
                        .to_string(),
                    name: t.text(f, "Logical_Name")?.to_string(),
                })
            })
            .collect::<Result<Vec<_>>>()?;

        let mut bands = Vec::new();
        for f in r.node(org, "List_of_Image_Files")?.all("Image_File") {
            let code = f
                .get_attr("sk")
                .ok_or_else(|| r.bad("Image_File without a band code (sk)"))?
                .to_string();
            let img_hdr = r.located(base, f)?;
            must_exist(&raster_beside(&img_hdr), &format!("band {code} image"))?;
            let img = EeDoc::read(&img_hdr)?;
            img.expect_type("VSC_PDTIMG", &img_hdr)?;
            let ir = Reader::new(&img_hdr);
            let size = ir.node(&img.specific, "Image_Information/Size")?;
            let model = models
                .all("Datation_Line_Model")
                .find(|m| m.get_attr("sk") == Some(code.as_str()))
                .ok_or_else(|| t.bad(format!("no line datation model for band {code}")))?;
            let time_text = t.text(model, "Time_Ref")?;
            let index = venus::band_by_code(&code)
                .and_then(|b| venus::BANDS.iter().position(|x| x.code == b.code))
                .ok_or_else(|| r.bad(format!("'{code}' is not a band code")))?;
            bands.push(RawBand {
                lines: ir.usize(size, "Lines")?,
                cols: ir.usize(size, "Columns")?,
                tdi: *tdis
                    .get(index)
                    .ok_or_else(|| t.bad("fewer than 12 TDI_Configuration_Values"))?,
                datation: LineDatation {
                    line_ref: t.f64(model, "Line_Ref")?,
                    time_ref: parse_mjd(time_text).ok_or_else(|| {
                        t.bad(format!("Time_Ref '{time_text}' of band {code} is not MJD="))
                    })?,
                    te: t.f64(model, "Te")?,
                },
                code,
            });
        }
        if bands.is_empty() {
            return Err(r.bad("the product lists no band image"));
        }
        Ok(L1a {
            class: doc.fixed.file_class.clone(),
            nick: r.text(sph, "Instance_Id/Nick_Name")?.to_string(),
            date: r.date(sph, "Instance_Id/Acquisition_Date")?,
            acquisition: r.utc(info, "Acquisition_Date_Time")?,
            orbit: r.orbit(info)?,
            bands,
            geometry: RawGeometry {
                heading_deg: t.f64(private, "Cape")?,
                roll_deg: t.f64(private, "Attitude/Roll")?,
                pitch_deg: t.f64(private, "Attitude/Pitch")?,
                yaw_deg: t.f64(private, "Attitude/Yaw")?,
                nadir_lat: t.f64(private, "Nadir/Lat")?,
                nadir_lon: t.f64(private, "Nadir/Long")?,
                altitude_m: ext(EXT_ALTITUDE)?,
                ground_speed_m_s: ext(EXT_GROUND_SPEED)?,
                first_detector: first_detector as usize,
                along_track_resolution_m: t.f64(private, "Along_Track_Resolution")?,
                along_detector_resolution_m: t.f64(private, "Along_Detector_Resolution")?,
            },
            creation: doc.fixed.creation_date,
            creator: doc.fixed.creator.clone(),
            auxiliary,
            straylight: match doc.extension(EXT_STRAYLIGHT_ITERATIONS) {
                None => None,
                Some(_) => {
                    let flag = |f: &str| r.bool(info, &format!("Processing_Flags_And_Modes/{f}"));
                    Some(StraylightCorrection {
                        gipps: r.gipps(info)?,
                        type1: flag("Straylight_T1")?,
                        type2: flag("Straylight_T2")?,
                        iterations: ext(EXT_STRAYLIGHT_ITERATIONS)? as usize,
                        residual: ext(EXT_STRAYLIGHT_RESIDUAL)?,
                    })
                }
            },
        })
    }
}

/// An `Image_Information` block (`VE_Generic_Image_Information_Type`) for raw images: uint16
/// counts, or float32 counts (NaN nodata) after a stray-light correction.
fn image_information<'a>(
    format: &str,
    float: bool,
    lines: &str,
    cols: usize,
    bands: impl IntoIterator<Item = &'a str>,
) -> Node {
    let bands: Vec<Node> = bands
        .into_iter()
        .enumerate()
        .map(|(i, b)| Node::text("Band", b).attr("sn", i + 1))
        .collect();
    Node::new("Image_Information")
        .child(Node::text("Format", format))
        .child(Node::text("Binary_Encoding", "LITTLE_ENDIAN"))
        .child(Node::text(
            "Data_Type",
            if float { "FLOAT" } else { "UNSIGNED_SHORT" },
        ))
        .child(Node::text(
            "Number_of_Significant_Bits",
            if float { 32 } else { venus::RAW_BITS },
        ))
        .child(if float {
            Node::text("Nodata_Value", "NaN")
        } else {
            Node::text("Nodata_Value", RAW_NODATA)
        })
        .child(
            Node::new("Size")
                .child(Node::text("Lines", lines))
                .child(Node::text("Columns", cols))
                .child(Node::text("Bands", bands.len())),
        )
        .child(Node::text("Image_Compacting_Tool", "NO"))
        .child(Node::list("List_of_Bands", bands))
}

/// Sun zenith and azimuth (degrees, azimuth clockwise from north) at `t` UTC over (lat, lon),
/// from the low-precision almanac formulas (about 0.01°): enough for informative header values.
fn approximate_sun(t: NaiveDateTime, lat: f64, lon: f64) -> (f64, f64) {
    let d = (t - super::common::mjd_epoch()).num_milliseconds() as f64 / 86_400_000.0;
    let g = (357.529 + 0.985_600_28 * d).to_radians();
    let q = 280.459 + 0.985_647_36 * d;
    let l = (q + 1.915 * g.sin() + 0.020 * (2.0 * g).sin()).to_radians();
    let e = (23.439 - 0.000_000_36 * d).to_radians();
    let ra = (e.cos() * l.sin()).atan2(l.cos());
    let decl = (e.sin() * l.sin()).asin();
    let gmst_deg = (18.697_374_558 + 24.065_709_824_419_08 * d) * 15.0;
    let ha = (gmst_deg + lon).to_radians() - ra;
    let phi = lat.to_radians();
    let cos_z = phi.sin() * decl.sin() + phi.cos() * decl.cos() * ha.cos();
    let zenith = cos_z.clamp(-1.0, 1.0).acos().to_degrees();
    let azimuth = (-ha.sin())
        .atan2(decl.tan() * phi.cos() - phi.sin() * ha.cos())
        .to_degrees()
        .rem_euclid(360.0);
    (zenith, azimuth)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").unwrap()
    }

    pub(crate) fn sample() -> L1a {
        let acq = t("2018-01-01T10:51:48.250");
        let bands = venus::BANDS
            .iter()
            .enumerate()
            .map(|(i, b)| RawBand {
                code: b.code.to_string(),
                lines: 120 + i,
                cols: 100,
                tdi: if i < 6 { 8 } else { 16 },
                datation: LineDatation {
                    line_ref: 60.5,
                    time_ref: acq + Duration::microseconds(1000 * i as i64 + 7),
                    te: 0.000_746_268,
                },
            })
            .collect();
        L1a {
            class: "TEST".into(),
            nick: "CAMARGUE".into(),
            date: NaiveDate::from_ymd_opt(2018, 1, 1).unwrap(),
            acquisition: acq,
            orbit: Some(7993),
            bands,
            geometry: RawGeometry {
                heading_deg: 191.25,
                roll_deg: 12.5,
                pitch_deg: -0.75,
                yaw_deg: 0.125,
                nadir_lat: 43.575,
                nadir_lon: 4.47,
                altitude_m: 720_000.0,
                ground_speed_m_s: 6_900.5,
                first_detector: 2550,
                along_track_resolution_m: 5.3,
                along_detector_resolution_m: 5.35,
            },
            creation: t("2024-11-24T12:00:00"),
            creator: "vip-sim".into(),
            straylight: None,
            auxiliary: vec![
                AuxiliaryFile {
                    code: "GPS".into(),
                    name: "VE_TEST_AUX_GPSDTA_S_SIMULSIT_07993_S_VEN_KRN_07993_00001_0".into(),
                },
                AuxiliaryFile {
                    code: "AOCS".into(),
                    name: "VE_TEST_AUX_AOCDTA_S_SIMULSIT_07993_S_VEN_KRN_07993_00001_0".into(),
                },
            ],
        }
    }

    fn touch_rasters(p: &L1a, dir: &Path) {
        for b in &p.bands {
            std::fs::write(p.band_image_path(dir, &b.code), b"").unwrap();
        }
    }

    #[test]
    fn names_follow_the_icd() {
        let p = sample();
        assert_eq!(p.global_id(), "VE_TEST_VSC_1AVALD_CAMARGUE_20180101");
        let d = Path::new("out");
        assert_eq!(
            p.band_image_path(d, "B05"),
            Path::new("out/VE_TEST_VSC_1AVALD_CAMARGUE_20180101.DBL.DIR")
                .join("VE_TEST_VSC_PDTIMG_1AVALD_CAMARGUE_20180101_B05.DBL.TIF")
        );
        assert_eq!(
            p.technical_path(d).file_name().unwrap(),
            "VE_TEST_TEC_1AVALD_CAMARGUE_20180101.EEF"
        );
    }

    #[test]
    fn headers_validate_against_the_icd() {
        let dir = tempfile::tempdir().unwrap();
        let p = sample();
        let hdr = p.write_headers(dir.path()).unwrap();
        let mut files = vec![hdr.clone(), p.technical_path(dir.path())];
        files.extend(
            p.bands
                .iter()
                .map(|b| p.band_header_path(dir.path(), &b.code)),
        );
        let refs: Vec<&Path> = files.iter().map(|f| f.as_path()).collect();
        crate::ee::schema::validate_all(&refs).unwrap();
        // Same lines in every band: a number instead of NIL=VARIABLE_BY_BAND.
        let mut q = sample();
        q.bands.truncate(3);
        for b in &mut q.bands {
            b.lines = 50;
        }
        let dir2 = tempfile::tempdir().unwrap();
        let hdr2 = q.write_headers(dir2.path()).unwrap();
        crate::ee::schema::validate_all(&[&hdr2]).unwrap();
    }

    #[test]
    fn write_then_open_gives_the_same_model() {
        let dir = tempfile::tempdir().unwrap();
        let p = sample();
        let hdr = p.write_headers(dir.path()).unwrap();
        touch_rasters(&p, dir.path());
        let back = L1a::open(&hdr).unwrap();
        assert_eq!(back, p);
        let b = back.band("B03").unwrap();
        assert_eq!(
            b.datation.time_of_line(b.datation.line_ref),
            b.datation.time_ref
        );
    }

    #[test]
    fn a_missing_band_image_is_bad_input_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let p = sample();
        let hdr = p.write_headers(dir.path()).unwrap();
        touch_rasters(&p, dir.path());
        let gone = p.band_image_path(dir.path(), "B07");
        std::fs::remove_file(&gone).unwrap();
        let e = L1a::open(&hdr).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains(gone.to_str().unwrap()), "{e}");
        let gone = p.band_header_path(dir.path(), "B02");
        std::fs::remove_file(&gone).unwrap();
        let e = L1a::open(&hdr).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains(gone.to_str().unwrap()), "{e}");
    }

    #[test]
    fn a_header_of_another_type_is_bad_input_naming_it() {
        let ex = crate::testdata("venus/examples/VE_TEST_VSC_L1VALD_CAMARGUE_20180101.HDR");
        let e = L1a::open(&ex).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        let msg = e.to_string();
        assert!(
            msg.contains(ex.to_str().unwrap()) && msg.contains("VSC_1AVALD"),
            "{msg}"
        );
    }

    #[test]
    fn missing_datation_is_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let p = sample();
        let hdr = p.write_headers(dir.path()).unwrap();
        touch_rasters(&p, dir.path());
        let tec = p.technical_path(dir.path());
        let text = std::fs::read_to_string(&tec).unwrap();
        std::fs::write(&tec, text.replace("sk=\"B09\"", "sk=\"B13\"")).unwrap();
        let e = L1a::open(&hdr).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("B09"), "{e}");
        assert!(e.to_string().contains(tec.to_str().unwrap()), "{e}");
    }

    #[test]
    fn invalid_models_are_refused_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = sample();
        p.nick = "CAMARG".into();
        assert!(p.write_headers(dir.path()).is_err());
        let mut p = sample();
        p.bands[0].tdi = 2;
        assert!(p.write_headers(dir.path()).is_err());
    }

    #[test]
    fn sun_position_is_plausible() {
        // Camargue, 1 January 10:51 UTC: sun about 68° from zenith, in the south-south-east.
        let (z, a) = approximate_sun(t("2018-01-01T10:51:48"), 43.575, 4.47);
        assert!((z - 67.5).abs() < 1.5, "{z}");
        assert!((a - 170.0).abs() < 8.0, "{a}");
    }
}
