//! Pieces shared by the product headers: number and time formatting that the schemas accept,
//! the blocks every product information carries (angles, wavelengths, file references), and
//! typed reading of values back with errors that name the file.

use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDate, NaiveDateTime, Timelike};

use crate::ee::header::{parse_utc, utc};
use crate::ee::ProductId;
use crate::ee::{EeDoc, FixedHeader, Layout, Node};
use crate::error::{Result, VipError};
use crate::mission::venus;

/// Sun or viewing angles (degrees) at the four corners and the centre of the useful image, in
/// the order of the headers: upper left, upper right, lower left, lower right, centre.
/// Azimuths are clockwise from north, in [-360, 360]. Headers keep at most 6 fraction digits.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct AngleSet {
    pub zenith: [f64; 5],
    pub azimuth: [f64; 5],
}

impl AngleSet {
    /// The same angles at the five points.
    pub fn uniform(zenith: f64, azimuth: f64) -> AngleSet {
        AngleSet {
            zenith: [zenith; 5],
            azimuth: [azimuth; 5],
        }
    }
}

/// Names of the five points of an [`AngleSet`] in the headers.
pub(crate) const POINTS: [&str; 5] = [
    "Upper_Left_Corner",
    "Upper_Right_Corner",
    "Lower_Left_Corner",
    "Lower_Right_Corner",
    "Image_Center",
];

pub(crate) use crate::ee::xml::{dec, num};

/// `UTC=YYYY-MM-DDThh:mm:ss[.ffffff]`, with microseconds only when the time has a fraction
/// (for the elements that accept one, e.g. `Acquisition_Date_Time`).
pub(crate) fn utc_fraction(t: NaiveDateTime) -> String {
    if t.nanosecond() == 0 {
        utc(t)
    } else {
        t.format("UTC=%Y-%m-%dT%H:%M:%S%.6f").to_string()
    }
}

/// The origin of `MJD=` times: 2000-01-01T12:00:00 UTC.
pub fn mjd_epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .expect("valid date")
}

const US_PER_DAY: i128 = 86_400_000_000;

/// `MJD=<days>.<12 digits>` for `t` (days since 2000-01-01T12:00 UTC). The 12 fraction digits
/// (86 ns) keep microseconds exactly. `None` before the epoch (the schema has no sign).
pub(crate) fn mjd_text(t: NaiveDateTime) -> Option<String> {
    let us = i128::from((t - mjd_epoch()).num_microseconds()?);
    if us < 0 {
        return None;
    }
    let mut days = us / US_PER_DAY;
    let rem = us % US_PER_DAY;
    let mut frac = (rem * 1_000_000_000_000 + US_PER_DAY / 2) / US_PER_DAY;
    if frac >= 1_000_000_000_000 {
        days += 1;
        frac -= 1_000_000_000_000;
    }
    Some(format!("MJD={days}.{frac:012}"))
}

/// Reads `MJD=<days>.<fraction>` back to a time rounded to the microsecond.
pub(crate) fn parse_mjd(s: &str) -> Option<NaiveDateTime> {
    let body = s.trim().strip_prefix("MJD=")?;
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let days: i128 = int.parse().ok()?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut digits = frac.to_string();
    digits.truncate(12);
    while digits.len() < 12 {
        digits.push('0');
    }
    let f: i128 = digits.parse().ok()?;
    let us = days * US_PER_DAY + (f * US_PER_DAY + 500_000_000_000) / 1_000_000_000_000;
    Some(mjd_epoch() + Duration::microseconds(i64::try_from(us).ok()?))
}

/// An element with a `unit` attribute.
pub(crate) fn unit(name: &str, value: impl std::fmt::Display, unit: &str) -> Node {
    Node::text(name, value).attr("unit", unit)
}

/// `true` / `false` as `Bool_Type` wants them.
pub(crate) fn boolean(name: &str, v: bool) -> Node {
    Node::text(name, if v { "true" } else { "false" })
}

/// A `VE_Product_Item_Reference_Type` element: nature, location relative to the global
/// header (or `NIL=OTHER:EXTERNAL`), logical id.
pub(crate) fn item_ref(name: &str, nature: &str, location: &str, logical: &str) -> Node {
    Node::new(name)
        .child(Node::text("Nature", nature))
        .child(Node::text("File_Location", location))
        .child(Node::text("Logical_Name", logical))
}

/// `List_of_Band_Central_Wavelength` with the 12 nominal VENµS centres.
pub(crate) fn wavelengths() -> Node {
    Node::list(
        "List_of_Band_Central_Wavelength",
        venus::BANDS
            .iter()
            .map(|b| {
                Node::text("Band_Central_Wavelength", b.centre_nm.round() as i64)
                    .attr("sk", b.code)
                    .attr("unit", "nanometer")
            })
            .collect(),
    )
}

/// The five `<point><Azimuth/><Zenith/></point>` children of a `Useful_Image` element.
pub(crate) fn angle_points(a: &AngleSet) -> Vec<Node> {
    POINTS
        .iter()
        .enumerate()
        .map(|(i, p)| {
            Node::new(*p)
                .child(unit("Azimuth", dec(a.azimuth[i], 6), "deg"))
                .child(unit("Zenith", dec(a.zenith[i], 6), "deg"))
        })
        .collect()
}

/// `Solar_Angles` for the useful image.
pub(crate) fn solar_angles(a: &AngleSet) -> Node {
    Node::new("Solar_Angles").child(Node::new("Useful_Image").children(angle_points(a)))
}

/// `List_of_Viewing_Angles count="4"`, one per tri-detector.
pub(crate) fn viewing_angles(v: &[AngleSet; 4]) -> Node {
    Node::list(
        "List_of_Viewing_Angles",
        v.iter()
            .enumerate()
            .map(|(i, a)| {
                Node::new("Viewing_Angles")
                    .attr("sn", i + 1)
                    .child(Node::new("Useful_Image").children(angle_points(a)))
            })
            .collect(),
    )
}

/// `Processing_Information`: processing time and the GIPPs used (nature, logical id).
pub(crate) fn processing_information(when: NaiveDateTime, gipps: &[(String, String)]) -> Node {
    Node::new("Processing_Information")
        .child(Node::text("Date_Time", utc(when)))
        .child(Node::list(
            "List_of_GIPP_Files",
            gipps
                .iter()
                .enumerate()
                .map(|(i, (nature, id))| {
                    item_ref("GIPP_File", nature, "NIL=OTHER:EXTERNAL", id).attr("sn", i + 1)
                })
                .collect(),
        ))
}

/// DEM min, max, mean and standard deviation, metres.
pub(crate) type DemStats = (f64, f64, f64, f64);

/// The site grid as a global header gives it back ([`Reader::grid`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Grid {
    pub epsg: u32,
    /// Outer corner of the upper-left pixel, metres.
    pub ulx: f64,
    pub uly: f64,
    pub pixel_m: f64,
    pub lines: usize,
    pub cols: usize,
    /// Nodata value of the reflectance images.
    pub nodata: i16,
}

/// Reading helpers bound to the file being read, so every error names it.
pub(crate) struct Reader<'a> {
    pub path: &'a Path,
}

impl<'a> Reader<'a> {
    pub fn new(path: &'a Path) -> Self {
        Reader { path }
    }

    pub fn bad(&self, msg: impl std::fmt::Display) -> VipError {
        VipError::bad_input(self.path, msg)
    }

    pub fn node<'n>(&self, n: &'n Node, path: &str) -> Result<&'n Node> {
        n.find(path)
            .ok_or_else(|| self.bad(format!("no {path} in {}", n.name)))
    }

    pub fn text<'n>(&self, n: &'n Node, path: &str) -> Result<&'n str> {
        Ok(self.node(n, path)?.text.trim())
    }

    pub fn f64(&self, n: &Node, path: &str) -> Result<f64> {
        let t = self.text(n, path)?;
        t.parse()
            .map_err(|_| self.bad(format!("{path} '{t}' is not a number")))
    }

    pub fn usize(&self, n: &Node, path: &str) -> Result<usize> {
        let t = self.text(n, path)?;
        t.parse()
            .map_err(|_| self.bad(format!("{path} '{t}' is not a count")))
    }

    pub fn bool(&self, n: &Node, path: &str) -> Result<bool> {
        match self.text(n, path)? {
            "true" => Ok(true),
            "false" => Ok(false),
            t => Err(self.bad(format!("{path} '{t}' is not true or false"))),
        }
    }

    pub fn utc(&self, n: &Node, path: &str) -> Result<NaiveDateTime> {
        let t = self.text(n, path)?;
        parse_utc(t).ok_or_else(|| self.bad(format!("{path} '{t}' is not a UTC= time")))
    }

    pub fn date(&self, n: &Node, path: &str) -> Result<NaiveDate> {
        let t = self.text(n, path)?;
        NaiveDate::parse_from_str(t, "%Y%m%d")
            .map_err(|_| self.bad(format!("{path} '{t}' is not a yyyymmdd date")))
    }

    /// An [`AngleSet`] from a `Useful_Image` element.
    pub fn angles(&self, useful: &Node) -> Result<AngleSet> {
        let mut a = AngleSet::default();
        for (i, p) in POINTS.iter().enumerate() {
            a.azimuth[i] = self.f64(useful, &format!("{p}/Azimuth"))?;
            a.zenith[i] = self.f64(useful, &format!("{p}/Zenith"))?;
        }
        Ok(a)
    }

    /// The four viewing angle sets of `List_of_Viewing_Angles`, by tri-detector number.
    pub fn viewing_angles(&self, info: &Node) -> Result<[AngleSet; 4]> {
        let list = self.node(info, "List_of_Viewing_Angles")?;
        let mut out = [AngleSet::default(); 4];
        let mut seen = [false; 4];
        for v in list.all("Viewing_Angles") {
            let sn: usize = v
                .get_attr("sn")
                .and_then(|s| s.parse().ok())
                .filter(|s| (1..=4).contains(s))
                .ok_or_else(|| self.bad("Viewing_Angles without a tri-detector number 1-4"))?;
            out[sn - 1] = self.angles(self.node(v, "Useful_Image")?)?;
            seen[sn - 1] = true;
        }
        if let Some(i) = seen.iter().position(|s| !s) {
            return Err(self.bad(format!("no viewing angles for tri-detector {}", i + 1)));
        }
        Ok(out)
    }

    /// `(nature, logical id)` of each GIPP in `Processing_Information/List_of_GIPP_Files`.
    pub fn gipps(&self, info: &Node) -> Result<Vec<(String, String)>> {
        let list = self.node(info, "Processing_Information/List_of_GIPP_Files")?;
        list.all("GIPP_File")
            .map(|g| {
                Ok((
                    self.text(g, "Nature")?.to_string(),
                    self.text(g, "Logical_Name")?.to_string(),
                ))
            })
            .collect()
    }

    /// The file named by `File_Location` of a reference element, relative to `base`; it
    /// must exist.
    pub fn located(&self, base: &Path, reference: &Node) -> Result<PathBuf> {
        let loc = self.text(reference, "File_Location")?;
        let p = base.join(loc);
        if !p.is_file() {
            return Err(VipError::bad_input(
                &p,
                format!(
                    "missing: {} lists it as part of the product",
                    self.path.display()
                ),
            ));
        }
        Ok(p)
    }

    /// The header of annex `code` listed in `List_of_Annex_Files` of `org`, relative to
    /// `base`; the header and its `.DBL.TIF` raster must exist.
    pub fn annex(&self, base: &Path, org: &Node, code: &str) -> Result<PathBuf> {
        let annex = self
            .node(org, "List_of_Annex_Files")?
            .all("Annex_File")
            .find(|a| a.get_attr("sk") == Some(code))
            .ok_or_else(|| self.bad(format!("no {code} annex in List_of_Annex_Files")))?;
        let hdr = self.located(base, annex)?;
        must_exist(&raster_beside(&hdr), &format!("{code} annex raster"))?;
        Ok(hdr)
    }

    /// The quicklook named by `Quicklook_File` of `org`, relative to `base`, when there is
    /// one: its header and `.DBL.JPG` must exist (`what` names the JPEG in the error).
    pub fn quicklook(&self, base: &Path, org: &Node, what: &str) -> Result<Option<QuicklookInfo>> {
        let Some(q) = org.find("Quicklook_File") else {
            return Ok(None);
        };
        let qh = self.located(base, q)?;
        must_exist(&jpeg_beside(&qh), what)?;
        let doc = EeDoc::read(&qh)?;
        let qr = Reader::new(&qh);
        let qi = qr.node(&doc.specific, "Quick_Look_Information")?;
        let bands: Vec<String> = qr
            .node(qi, "List_of_Bands")?
            .all("Band")
            .map(|b| b.text.trim().to_string())
            .collect();
        let bands: [String; 3] = bands
            .try_into()
            .map_err(|_| qr.bad("quicklook List_of_Bands does not hold 3 bands"))?;
        Ok(Some(QuicklookInfo {
            bands,
            factor: qr.usize(qi, "Subsampling_Factor")?,
            lines: qr.usize(qi, "Size/Lines")?,
            cols: qr.usize(qi, "Size/Columns")?,
        }))
    }

    /// (lon, lat) of the UL, UR, LL, LR and centre points of `Useful_Image_Geo_Coverage`.
    pub fn coverage(&self, info: &Node) -> Result<[(f64, f64); 5]> {
        let coverage = self.node(info, "Useful_Image_Geo_Coverage")?;
        let mut corners_lonlat = [(0.0, 0.0); 5];
        for (i, p) in COVERAGE_POINTS.iter().enumerate() {
            corners_lonlat[i] = (
                self.f64(coverage, &format!("{p}/Long"))?,
                self.f64(coverage, &format!("{p}/Lat"))?,
            );
        }
        Ok(corners_lonlat)
    }

    /// `Acquisition_Orbit_Number`; `None` for `NIL=N/A`.
    pub fn orbit(&self, n: &Node) -> Result<Option<u32>> {
        let t = self.text(n, "Acquisition_Orbit_Number")?;
        if t.starts_with("NIL=") {
            return Ok(None);
        }
        t.parse().map(Some).map_err(|_| {
            self.bad(format!(
                "Acquisition_Orbit_Number '{t}' is not an orbit number"
            ))
        })
    }

    /// `Cloud_Percentage`; `None` for `NIL=N/A`.
    /// `Viewing_Angles_In_Satellite_Frame` (X and Y back to ±180°), `None` if `NONE` or absent.
    pub fn satellite_frame(&self, n: &Node) -> Result<Option<[f64; 3]>> {
        let Some(v) = n.get("Viewing_Angles_In_Satellite_Frame") else {
            return Ok(None);
        };
        if self.text(v, "X_Direction")? == "NONE" {
            return Ok(None);
        }
        let signed = |a: f64| if a > 180.0 { a - 360.0 } else { a };
        Ok(Some([
            signed(self.f64(v, "X_Direction")?),
            signed(self.f64(v, "Y_Direction")?),
            self.f64(v, "XY_Direction")?,
        ]))
    }

    pub fn cloud_percentage(&self, n: &Node) -> Result<Option<f64>> {
        if self.text(n, "Cloud_Percentage")?.starts_with("NIL=") {
            Ok(None)
        } else {
            self.f64(n, "Cloud_Percentage").map(Some)
        }
    }

    /// `Used_DEM`: its reference and, when given, min, max, mean and standard deviation.
    pub fn dem(&self, n: &Node) -> Result<(String, Option<DemStats>)> {
        let dem = self.node(n, "Used_DEM")?;
        let stats = match dem.get("Statistics") {
            Some(s) => Some((
                self.f64(s, "Min")?,
                self.f64(s, "Max")?,
                self.f64(s, "Average")?,
                self.f64(s, "Standard_Deviation")?,
            )),
            None => None,
        };
        Ok((self.text(dem, "DEM_Reference")?.to_string(), stats))
    }

    /// The values of `List_of_Aks`, in file order.
    pub fn aks(&self, n: &Node) -> Result<Vec<f64>> {
        self.node(n, "List_of_Aks")?
            .all("Ak")
            .map(|a| {
                a.text
                    .trim()
                    .parse()
                    .map_err(|_| self.bad(format!("Ak '{}' is not a number", a.text.trim())))
            })
            .collect()
    }

    /// The site grid of a global header's `Specific_Product_Header`: its
    /// `Geo_Referencing_Information` and the size and nodata of its `Image_Information`.
    pub fn grid(&self, sph: &Node) -> Result<Grid> {
        let img = self.node(sph, "Image_Information")?;
        let carto = self.node(
            sph,
            "Geo_Referencing_Information/Product_Coverage/Cartographic",
        )?;
        let code = self.text(carto, "Coordinate_Reference_System/Code")?;
        let epsg = code
            .strip_prefix("EPSG:")
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| self.bad(format!("'{code}' is not an EPSG:n code")))?;
        let pixel_m = self.f64(carto, "Sampling_Interval/By_Column")?;
        let nodata_text = self.text(img, "Nodata_Value")?;
        let nodata = nodata_text
            .parse()
            .map_err(|_| self.bad(format!("Nodata_Value '{nodata_text}' is not an int16")))?;
        Ok(Grid {
            epsg,
            ulx: self.f64(carto, "Upper_Left_Corner/X")? - pixel_m / 2.0,
            uly: self.f64(carto, "Upper_Left_Corner/Y")? + pixel_m / 2.0,
            pixel_m,
            lines: self.usize(img, "Size/Lines")?,
            cols: self.usize(img, "Size/Columns")?,
            nodata,
        })
    }
}

/// The `.DBL.TIF` raster beside an image or annex header `X.HDR`: `X.DBL.TIF`.
pub fn raster_beside(hdr: &Path) -> PathBuf {
    hdr.with_extension("DBL.TIF")
}

/// Fails with a bad-input error naming `p` unless it is an existing file.
pub(crate) fn must_exist(p: &Path, what: &str) -> Result<()> {
    if p.is_file() {
        Ok(())
    } else {
        Err(VipError::bad_input(p, format!("missing {what}")))
    }
}

/// The quicklook of a product (`PDTQLK`, a 3-band JPEG beside its header): RGB bands,
/// undersampling and size.
#[derive(Debug, Clone, PartialEq)]
pub struct QuicklookInfo {
    pub bands: [String; 3],
    pub factor: usize,
    pub lines: usize,
    pub cols: usize,
}

/// The quicklook JPEG beside its header `X.HDR`: `X.DBL.JPG`.
pub(crate) fn jpeg_beside(hdr: &Path) -> PathBuf {
    hdr.with_extension("DBL.JPG")
}

/// Planes of a SOL grid (sun direction at ground level).
pub const SOL_PLANES: [&str; 2] = ["DX_ALT=0.0m", "DY_ALT=0.0m"];
/// The band whose viewing direction a VIE grid gives, for tri-detectors 1..4.
pub const VIE_BANDS: [&str; 4] = ["B05", "B10", "B07", "B06"];
/// Unit of the SOL and VIE grid values.
pub const GRID_VALUES_UNIT: &str = "m/m of altitude";
/// Annex code of the sun direction grid.
pub const ANNEX_SOL: &str = "SOL";
/// Annex code of the viewing direction grid.
pub const ANNEX_VIE: &str = "VIE";

/// Planes of a VIE grid, in file order: `Bnn_DX_ALT=0.0m`, `Bnn_DY_ALT=0.0m` per band of
/// [`VIE_BANDS`].
pub(crate) fn vie_planes() -> Vec<String> {
    VIE_BANDS
        .iter()
        .flat_map(|b| [format!("{b}_DX_ALT=0.0m"), format!("{b}_DY_ALT=0.0m")])
        .collect()
}

const WEB_SITE_URL: &str = "https://venus.cnes.fr";
/// `schema_version` of the image and annex headers of published products.
pub(crate) const SUB_SCHEMA_VERSION: &str = "0.42";

/// Names of the four corners and the centre in `Useful_Image_Geo_Coverage`.
const COVERAGE_POINTS: [&str; 5] = [
    "Upper_Left_Corner",
    "Upper_Right_Corner",
    "Lower_Left_Corner",
    "Lower_Right_Corner",
    "Center",
];

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

/// The first elements of an image or annex description: format (GeoTIFF), encoding, data type
/// (`UNSIGNED_BYTE`, `UNSIGNED_SHORT`, `SIGNED_SHORT`, `FLOAT`) and significant bits.
pub(crate) fn raster_format(data_type: &str, bits: u32) -> Vec<Node> {
    vec![
        Node::text("Format", "GEOTIFF"),
        Node::text("Binary_Encoding", "LITTLE_ENDIAN"),
        Node::text("Data_Type", data_type),
        Node::text("Number_of_Significant_Bits", bits),
    ]
}

/// `Size`, `Image_Compacting_Tool` and `List_of_Bands` of an image or annex description.
pub(crate) fn raster_size<S: AsRef<str>>(lines: usize, cols: usize, bands: &[S]) -> Vec<Node> {
    vec![
        Node::new("Size")
            .child(Node::text("Lines", lines))
            .child(Node::text("Columns", cols))
            .child(Node::text("Bands", bands.len())),
        Node::text("Image_Compacting_Tool", "NO"),
        Node::list(
            "List_of_Bands",
            bands
                .iter()
                .enumerate()
                .map(|(i, b)| Node::text("Band", b.as_ref()).attr("sn", i + 1))
                .collect(),
        ),
    ]
}

/// `Subsampling_Factor` of an annex (10 = one value per 10 × 10 pixels).
pub(crate) fn subsampling(factor: f64) -> Node {
    let f = num(factor);
    Node::new("Subsampling_Factor")
        .child(Node::text("By_Line", &f))
        .child(Node::text("By_Column", &f))
}

/// What every site product (L1C, L2A, L3A) carries in its header: names, acquisition, site
/// grid, footprint, angles, cloud cover, DEM, quantification, Aks, angle grid spacing and
/// provenance. Each product model embeds one and adds its own parts.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteHeader {
    /// File class: `TEST`, `OPER`, ...
    pub class: String,
    /// SiteHeader nick name, exactly 8 characters `[0-9A-Z_]`.
    pub nick: String,
    /// The date in the ids: the acquisition date (L1C, L2A) or the central date (L3A).
    pub date: NaiveDate,
    /// Acquisition time at the scene centre (L3A: the first input's).
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
    /// Nodata value of the reflectance images (−10000).
    pub nodata: i16,
    /// GIPPs used: (nature e.g. `GIP_PHGAIN`, logical id).
    pub gipps_used: Vec<(String, String)>,
    /// Sun angles at the corners and centre of the useful image.
    pub sun: AngleSet,
    /// Viewing angles per tri-detector 1..4.
    pub view: [AngleSet; 4],
    /// The line of sight at the image centre in the satellite frame, degrees: its incidence
    /// along the satellite's X (forward) and Y (right) directions and overall (ICD
    /// `Viewing_Angles_In_Satellite_Frame`); `None`: not known (written `NONE`).
    pub view_in_satellite_frame: Option<[f64; 3]>,
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
    /// Spacing of the SOL/VIE grid nodes, metres (a multiple of `pixel_m`; L3A: the pixel).
    pub angle_grid_step_m: f64,
    /// Creation time of the headers (whole seconds).
    pub creation: NaiveDateTime,
    pub creator: String,
    pub creator_version: String,
}

impl SiteHeader {
    /// The id of the product of file semantic `semantic` on this site and date.
    pub(crate) fn id(&self, semantic: &str) -> ProductId {
        ProductId::of(&self.class, semantic, &self.nick, self.date)
    }

    /// Number of (lines, columns) of the SOL/VIE grids: ceil(extent / step) + 1 per axis.
    pub fn angle_grid_shape(&self) -> (usize, usize) {
        let n = |count: usize| {
            ((count as f64 * self.pixel_m) / self.angle_grid_step_m - 1e-9).ceil() as usize + 1
        };
        (n(self.lines), n(self.cols))
    }

    /// Reads the shared content back from a global header whose product folder `base`
    /// holds the SOL annex header `sol_hdr` (for the grid spacing).
    pub(crate) fn read(doc: &EeDoc, hdr: &Path, sol_hdr: &Path) -> Result<SiteHeader> {
        let r = Reader::new(hdr);
        let sph = &doc.specific;
        let info = r.node(sph, "Product_Information")?;

        let sol = EeDoc::read(sol_hdr)?;
        sol.expect_type("VSC_PDTANX", sol_hdr)?;
        let grid_factor = Reader::new(sol_hdr).f64(
            &sol.specific,
            "Annex_Information/Subsampling_Factor/By_Line",
        )?;

        let g = r.grid(sph)?;
        let (dem_reference, dem_stats) = r.dem(info)?;
        Ok(SiteHeader {
            class: doc.fixed.file_class.clone(),
            nick: r.text(sph, "Instance_Id/Nick_Name")?.to_string(),
            date: r.date(sph, "Instance_Id/Acquisition_Date")?,
            acquisition: r.utc(info, "Acquisition_Date_Time")?,
            orbit: r.orbit(info)?,
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
            cloud_percentage: r.cloud_percentage(info)?,
            dem_reference,
            dem_stats,
            aks: r.aks(info)?,
            angle_grid_step_m: grid_factor * g.pixel_m,
            creation: doc.fixed.creation_date,
            creator: doc.fixed.creator.clone(),
            creator_version: doc.fixed.creator_version.clone(),
        })
    }
}

/// `Viewing_Angles_In_Satellite_Frame`: X and Y from 0 to 360° (as the VENµS centre wrote
/// them: −4.8° is 355.2), XY from 0; `NONE` each when not known.
fn satellite_frame(angles: Option<[f64; 3]>) -> Node {
    let text = |k: usize| {
        angles.map_or("NONE".to_string(), |a| {
            let v = if k < 2 { a[k].rem_euclid(360.0) } else { a[k] };
            dec(v, 5)
        })
    };
    Node::new("Viewing_Angles_In_Satellite_Frame")
        .attr("unit", "deg")
        .child(Node::text("X_Direction", text(0)))
        .child(Node::text("Y_Direction", text(1)))
        .child(Node::text("XY_Direction", text(2)))
}

/// The headers' writer of a site product: its [`SiteHeader`] and the id of the product.
#[derive(Debug, Clone)]
pub(crate) struct HeaderWriter<'a> {
    pub site: &'a SiteHeader,
    pub ids: ProductId,
}

impl HeaderWriter<'_> {
    /// Refuses a model whose headers the schemas would reject (a caller's bug).
    pub fn check(&self) -> Result<()> {
        self.ids.check()?;
        let bad = |m: String| Err(VipError::Internal(m));
        if self.site.lines == 0 || self.site.cols == 0 || self.site.pixel_m <= 0.0 {
            return bad(format!(
                "empty product grid: {} × {} pixels of {} m",
                self.site.lines, self.site.cols, self.site.pixel_m
            ));
        }
        if self.site.angle_grid_step_m < self.site.pixel_m {
            return bad(format!(
                "angle grid step {} m is finer than the pixel",
                self.site.angle_grid_step_m
            ));
        }
        if self.site.aks.len() > 12 {
            return bad(format!("{} Aks for 12 bands", self.site.aks.len()));
        }
        if self.site.quantification.is_nan() || self.site.quantification <= 0.0 {
            return bad(format!(
                "reflectance quantification {} is not positive",
                self.site.quantification
            ));
        }
        if self.site.creator.is_empty() || self.site.creator_version.is_empty() {
            return bad("empty creator or creator version".into());
        }
        Ok(())
    }

    /// Fixed_Header of a file of the product; validity = the acquisition second.
    pub fn fixed(&self, file_name: String, description: &str, file_type: &str) -> FixedHeader {
        let start = self
            .site
            .acquisition
            .with_nanosecond(0)
            .expect("zero is valid");
        let stop = if self.site.acquisition.nanosecond() == 0 {
            start
        } else {
            start + Duration::seconds(1)
        };
        FixedHeader {
            file_name,
            description: description.into(),
            notes: String::new(),
            file_class: self.ids.class.clone(),
            file_type: file_type.into(),
            validity_start: start,
            validity_stop: stop,
            version: 1,
            creator: self.site.creator.clone(),
            creator_version: self.site.creator_version.clone(),
            creation_date: self.site.creation,
        }
    }

    /// `Instance_Id` of the global header: nick name and acquisition date.
    pub fn instance_id(&self) -> Node {
        Node::new("Instance_Id")
            .child(Node::text("Nick_Name", &self.ids.nick))
            .child(Node::text(
                "Acquisition_Date",
                self.ids.date.format("%Y%m%d").to_string(),
            ))
    }

    /// `Instance_Id` of an image (`annex` = `None`) or annex header.
    fn sub_instance(&self, annex: Option<&str>) -> Node {
        let mut n = Node::new("Instance_Id")
            .child(Node::text("Reference_Product_Semantic", &self.ids.semantic))
            .child(Node::text(
                "Reference_Product_Instance",
                self.ids.instance(),
            ));
        if let Some(a) = annex {
            n = n.child(Node::text("Annex_Code", a));
        }
        n
    }

    /// `Image_Information` of int16 reflectance images with the given bands.
    pub fn image_information<S: AsRef<str>>(&self, bands: &[S]) -> Node {
        Node::new("Image_Information")
            .children(raster_format("SIGNED_SHORT", 16))
            .child(Node::text("Nodata_Value", self.site.nodata))
            .children(raster_size(self.site.lines, self.site.cols, bands))
    }

    /// The generic and site parts of `Product_Information` (ICD-DIGEST §3.1 items 1-15) and
    /// `List_of_Aks`; the caller appends what its level adds.
    pub fn product_information(&self, level: &str) -> Node {
        let (l, c) = (self.site.lines, self.site.cols);
        let image_pos = [
            (0, 0),
            (0, c - 1),
            (l - 1, 0),
            (l - 1, c - 1),
            (l / 2, c / 2),
        ];
        let coverage = Node::new("Useful_Image_Geo_Coverage")
            .child(crs("Reference_System", 4326))
            .children((0..5).map(|i| {
                let (lon, lat) = self.site.corners_lonlat[i];
                Node::new(COVERAGE_POINTS[i])
                    .child(unit("Long", dec(lon, 9), "deg"))
                    .child(unit("Lat", dec(lat, 9), "deg"))
                    .child(Node::text("Line", image_pos[i].0))
                    .child(Node::text("Column", image_pos[i].1))
            }));
        let mut dem =
            Node::new("Used_DEM").child(Node::text("DEM_Reference", &self.site.dem_reference));
        if let Some((min, max, mean, std)) = self.site.dem_stats {
            dem = dem.child(
                Node::new("Statistics")
                    .child(unit("Min", num(min), "m"))
                    .child(unit("Max", num(max), "m"))
                    .child(unit("Average", num(mean), "m"))
                    .child(unit("Standard_Deviation", num(std), "m")),
            );
        }
        Node::new("Product_Information")
            .child(Node::text("Product_Level", level))
            .child(Node::text(
                "Acquisition_Date_Time",
                utc_fraction(self.site.acquisition),
            ))
            .child(unit(
                "Acquisition_Orbit_Number",
                self.site
                    .orbit
                    .map_or("NIL=N/A".to_string(), |o| o.to_string()),
                "abs",
            ))
            .child(processing_information(
                self.site.creation,
                &self.site.gipps_used,
            ))
            .child(Node::text("Web_Site_URL", WEB_SITE_URL))
            .child(Node::list("List_of_Quality_Indexes", vec![]))
            .child(coverage)
            .child(wavelengths())
            .child(solar_angles(&self.site.sun))
            .child(viewing_angles(&self.site.view))
            .child(
                Node::new("Product_Sampling")
                    .child(unit("By_Line", num(self.site.pixel_m), "m"))
                    .child(unit("By_Column", num(self.site.pixel_m), "m")),
            )
            .child(satellite_frame(self.site.view_in_satellite_frame))
            .child(Node::text(
                "Reference_SiteDefinition_Id",
                self.ids.site_definition(),
            ))
            .child(Node::text(
                "Cloud_Percentage",
                self.site
                    .cloud_percentage
                    .map_or("NIL=N/A".to_string(), |c| dec(c, 1)),
            ))
            .child(dem)
            .child(Node::text(
                "Reflectance_Quantification_Value",
                dec(self.site.quantification, 6),
            ))
            .child(Node::list(
                "List_of_Aks",
                self.site
                    .aks
                    .iter()
                    .zip(venus::BANDS.iter())
                    .map(|(a, b)| Node::text("Ak", dec(*a, 5)).attr("sk", b.code))
                    .collect(),
            ))
    }

    /// Centres of the UL, UR, LL, LR pixels in the grid CRS.
    fn pixel_centre_corners(&self) -> [(f64, f64); 4] {
        let x0 = self.site.ulx + self.site.pixel_m / 2.0;
        let y0 = self.site.uly - self.site.pixel_m / 2.0;
        let x1 = x0 + (self.site.cols - 1) as f64 * self.site.pixel_m;
        let y1 = y0 - (self.site.lines - 1) as f64 * self.site.pixel_m;
        [(x0, y0), (x1, y0), (x0, y1), (x1, y1)]
    }

    /// `Geo_Referencing_Information`: the site grid (pixel-centre convention) and the useful
    /// image corners.
    pub fn geo_referencing(&self) -> Node {
        let [ul, ur, ll, lr] = self.pixel_centre_corners();
        Node::new("Geo_Referencing_Information")
            .child(
                Node::new("Product_Coverage").child(
                    Node::new("Cartographic")
                        .child(crs("Coordinate_Reference_System", self.site.epsg))
                        .child(xy("Upper_Left_Corner", ul.0, ul.1))
                        .child(unit(
                            "Width",
                            num((self.site.cols - 1) as f64 * self.site.pixel_m),
                            "m",
                        ))
                        .child(unit(
                            "Height",
                            num((self.site.lines - 1) as f64 * self.site.pixel_m),
                            "m",
                        ))
                        .child(
                            Node::new("Sampling_Interval")
                                .child(unit("By_Line", num(self.site.pixel_m), "m"))
                                .child(unit("By_Column", num(self.site.pixel_m), "m")),
                        ),
                ),
            )
            .child(
                Node::new("Useful_Image_Coverage").child(
                    Node::new("Cartographic")
                        .child(crs("Reference_System", self.site.epsg))
                        .child(xy("Upper_Left_Corner", ul.0, ul.1))
                        .child(xy("Upper_Right_Corner", ur.0, ur.1))
                        .child(xy("Lower_Left_Corner", ll.0, ll.1))
                        .child(xy("Lower_Right_Corner", lr.0, lr.1)),
                ),
            )
    }

    /// A `Product_Organization` entry for the sub-file `id` of the product folder.
    pub fn file_ref(&self, element: &str, nature: &str, id: &str) -> Node {
        item_ref(
            element,
            nature,
            &format!("{}/{id}.HDR", self.ids.dbl_dir()),
            id,
        )
    }

    /// `List_of_Annex_Files` naming the annexes `codes`.
    pub fn annex_list(&self, codes: &[&str]) -> Node {
        Node::list(
            "List_of_Annex_Files",
            codes
                .iter()
                .map(|c| {
                    self.file_ref("Annex_File", "VSC_PDTANX", &self.ids.annex(c))
                        .attr("sk", c)
                })
                .collect(),
        )
    }

    /// The header of the image `id` (`PDTIMG_Header_Type`) with the given `Image_Information`.
    pub fn image_doc(&self, id: String, image_information: Node) -> EeDoc {
        self.sub_doc(
            "PDTIMG_Header_Type",
            self.fixed(id, "ImageProduct", "VSC_PDTIMG"),
            None,
            vec![image_information],
        )
    }

    /// A file header of the product (image, annex, quicklook): its instance (with the annex
    /// code), the global header's id, then `nodes`.
    fn sub_doc(
        &self,
        xsi_type: &str,
        fixed: FixedHeader,
        annex: Option<&str>,
        nodes: Vec<Node>,
    ) -> EeDoc {
        EeDoc {
            layout: Layout::Header,
            xsi_type: xsi_type.into(),
            schema_version: SUB_SCHEMA_VERSION.into(),
            fixed,
            extensions: vec![],
            specific: Node::new("Specific_Product_Header")
                .child(self.sub_instance(annex))
                .child(Node::text(
                    "Reference_Product_Header_Id",
                    self.ids.to_string(),
                ))
                .children(nodes),
            data_block: None,
        }
    }

    /// The header of annex `code` (`PDTANX_Header_Type`) with the given `Annex_Information`.
    pub fn annex_doc(&self, code: &str, complete_name: &str, annex_information: Node) -> EeDoc {
        self.sub_doc(
            "PDTANX_Header_Type",
            self.fixed(self.ids.annex(code), "AnnexProduct", "VSC_PDTANX"),
            Some(code),
            vec![
                Node::text("Annex_Complete_Name", complete_name),
                annex_information,
            ],
        )
    }

    /// The header of the quicklook `q` (`PDTQLK_Header_Type`): a 3-band RGB JPEG.
    pub fn quicklook_doc(&self, q: &QuicklookInfo) -> EeDoc {
        let info = Node::new("Quick_Look_Information")
            .child(Node::text("Format", "JPEG"))
            .child(Node::text("Binary_Encoding", "LITTLE_ENDIAN"))
            .child(Node::text("Data_Type", "UNSIGNED_BYTE"))
            .child(Node::text("Number_of_Significant_Bits", 8))
            .child(Node::text("Nodata_Value", 0))
            .child(
                Node::new("Size")
                    .child(Node::text("Lines", q.lines))
                    .child(Node::text("Columns", q.cols))
                    .child(Node::text("Bands", 3)),
            )
            .child(Node::text("Image_Compacting_Tool", "NO"))
            .child(Node::list(
                "List_of_Bands",
                q.bands
                    .iter()
                    .enumerate()
                    .map(|(i, b)| Node::text("Band", b).attr("sn", i + 1))
                    .collect(),
            ))
            .child(Node::text("Subsampling_Factor", q.factor))
            .child(Node::text("Colorspace", "RGB"))
            .child(Node::text("Bands_Order", "RGB"));
        self.sub_doc(
            "PDTQLK_Header_Type",
            self.fixed(self.ids.quicklook(), "QuickLook", "VSC_PDTQLK"),
            None,
            vec![info],
        )
    }

    /// The header of the SOL or VIE angle grid annex (float32, NaN nodata, subsampled).
    pub fn grid_annex_doc(&self, code: &str) -> EeDoc {
        let (planes, name) = if code == ANNEX_SOL {
            (
                SOL_PLANES.iter().map(|s| s.to_string()).collect(),
                "Solar angles Grid",
            )
        } else {
            (vie_planes(), "Viewing angles Grid")
        };
        let (gl, gc) = self.site.angle_grid_shape();
        let info = Node::new("Annex_Information")
            .children(raster_format("FLOAT", 32))
            .child(Node::text("Nodata_Value", "NaN"))
            .children(raster_size(gl, gc, &planes))
            .child(subsampling(self.site.angle_grid_step_m / self.site.pixel_m))
            .child(Node::text("Values_Unit", GRID_VALUES_UNIT));
        self.annex_doc(code, name, info)
    }

    /// Writes the SOL and VIE grid annex headers into the product folder in `dir`.
    pub fn write_grid_annexes(&self, dir: &Path) -> Result<()> {
        for code in [ANNEX_SOL, ANNEX_VIE] {
            self.grid_annex_doc(code)
                .write(&self.ids.annex_header(dir, code))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_respect_the_facets_and_never_use_exponents() {
        assert_eq!(dec(0.001, 6), "0.001");
        assert_eq!(dec(12.55, 1), "12.6");
        assert_eq!(dec(158.5, 6), "158.5");
        assert_eq!(dec(-0.0000001, 6), "0");
        assert_eq!(dec(1.0, 5), "1");
        assert_eq!(num(1e-7), "0.0000001");
        assert_eq!(num(1e21), "1000000000000000000000");
        assert_eq!(num(0.000746).parse::<f64>().unwrap(), 0.000746);
    }

    #[test]
    fn mjd_keeps_microseconds() {
        let t = NaiveDate::from_ymd_opt(2018, 1, 1)
            .unwrap()
            .and_hms_micro_opt(10, 51, 48, 123_457)
            .unwrap();
        let s = mjd_text(t).unwrap();
        assert!(s.starts_with("MJD=6574.9526"), "{s}");
        assert_eq!(s.len(), "MJD=6574.".len() + 12);
        assert_eq!(parse_mjd(&s), Some(t));
        assert_eq!(mjd_text(mjd_epoch()).unwrap(), "MJD=0.000000000000");
        assert_eq!(mjd_text(mjd_epoch() - Duration::seconds(1)), None);
        assert_eq!(
            parse_mjd("MJD=1.5"),
            Some(mjd_epoch() + Duration::hours(36))
        );
    }
}

/// Helpers of the product models' tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::{Path, PathBuf};

    /// What the validator says, and whether every file passed.
    pub fn validate(paths: &[PathBuf]) -> (bool, String) {
        let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
        match crate::ee::schema::validate_all(&refs) {
            Ok(()) => (true, String::new()),
            Err(text) => (false, text),
        }
    }

    /// For each (file, text it holds, broken text): the file with the text broken fails the
    /// validation; the file is restored after.
    pub fn assert_breakages_rejected(breakages: &[(PathBuf, &str, &str)]) {
        for (path, good, broken) in breakages {
            let text = std::fs::read_to_string(path).unwrap();
            assert!(text.contains(good), "{}: no {good}", path.display());
            std::fs::write(path, text.replace(good, broken)).unwrap();
            let (ok, out) = validate(std::slice::from_ref(path));
            assert!(!ok, "{} with {broken} passed: {out}", path.display());
            std::fs::write(path, text).unwrap();
        }
    }
}
