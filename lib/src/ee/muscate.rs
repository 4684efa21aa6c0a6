//! Theia/MUSCATE distribution metadata, `<ID>_MTD_ALL.xml` (ICD-DIGEST §7): a typed model,
//! its writer (sections and order of the VENµS MUSCATE template, schema
//! `Muscate_Metadata.xsd` v1.18) and its reader.
//!
//! The model is level-neutral: an L1C fills one `Reflectance` image group, an L2A fills
//! `Surface_Reflectance`, `Flat_Reflectance`, `Water_Vapor_Content` and
//! `Aerosol_Optical_Thickness`, and the mask groups and their `bit_number`s say the rest.
//! Numbers are written in decimal notation (never exponents) so that every `xs:double` and
//! `xs:decimal` facet accepts them; `NaN` marks an angle grid node without value.

use std::path::Path;

use chrono::NaiveDateTime;

use super::xml::Node;
use crate::error::{Result, VipError};

/// `METADATA_FORMAT` version of the template.
pub const METADATA_FORMAT_VERSION: &str = "1.14";

/// One file of an image, mask or data group, with its attributes (`band_id`, `group_id`,
/// `band_number`, `bit_number`, `detector_id`, `axis`, `altitude`), in writing order.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRef {
    /// Path relative to the product folder, `/`-separated.
    pub path: String,
    pub attrs: Vec<(String, String)>,
}

impl FileRef {
    pub fn new(path: impl Into<String>) -> Self {
        FileRef {
            path: path.into(),
            attrs: Vec::new(),
        }
    }

    /// Adds an attribute (builder style).
    pub fn with(mut self, key: &str, value: impl std::fmt::Display) -> Self {
        self.attrs.push((key.to_string(), value.to_string()));
        self
    }

    /// The value of attribute `key`.
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Files of one nature (`Image`, `Mask` or `Data` element).
#[derive(Debug, Clone, PartialEq)]
pub struct FileGroup {
    /// `NATURE`, e.g. `Reflectance`, `Saturation`, `Solar_Angles_Grid`.
    pub nature: String,
    /// MIME type, e.g. `image/tiff`.
    pub format: String,
    /// `byte`, `int16`, `uint16`, `float32`... (images and masks).
    pub encoding: Option<String>,
    /// `LittleEndian` for rasters.
    pub endianness: Option<String>,
    /// `DEFLATE`, ... (masks).
    pub compression: Option<String>,
    pub files: Vec<FileRef>,
}

/// A named point of `Global_Geopositioning`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
    pub x: f64,
    pub y: f64,
}

/// Names of the five points, in writing order.
pub const POINT_NAMES: [&str; 5] = [
    "upperLeft",
    "upperRight",
    "lowerRight",
    "lowerLeft",
    "center",
];

/// An angle grid in degrees: `rows[i][j]` at X = ULX + j·col_step, Y = ULY − i·row_step.
#[derive(Debug, Clone, PartialEq)]
pub struct AngleGrid {
    pub col_step_m: f64,
    pub row_step_m: f64,
    pub rows: Vec<Vec<f64>>,
}

/// Zenith and azimuth grids of one direction.
#[derive(Debug, Clone, PartialEq)]
pub struct AngleGrids {
    pub zenith: AngleGrid,
    pub azimuth: AngleGrid,
}

/// Viewing angle grids of one tri-detector, given for its reference band.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewingGrids {
    /// `B1` … `B12`.
    pub band_id: String,
    /// `1` … `4`.
    pub detector_id: String,
    pub grids: AngleGrids,
}

/// `Spectral_Band_Informations` of one band.
#[derive(Debug, Clone, PartialEq)]
pub struct BandInfo {
    pub band_id: String,
    /// `Native_Coefficients_List` (`Ak`, `PolarizationCoefficient`, ...).
    pub coefficients: Vec<(String, f64)>,
    pub resolution_m: f64,
    /// (min, max, central) wavelength, nm.
    pub wavelength_nm: Option<(f64, f64, f64)>,
}

/// One processing job of `Production_Informations`.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub workplan_id: String,
    pub step_id: String,
    pub job_id: String,
    pub producer: String,
    pub start: NaiveDateTime,
    pub end: NaiveDateTime,
    /// (product id, acquisition, production) of the inputs.
    pub inputs: Vec<(String, NaiveDateTime, NaiveDateTime)>,
    pub outputs: Vec<(String, NaiveDateTime, NaiveDateTime)>,
}

/// The content of a `*_MTD_ALL.xml`.
#[derive(Debug, Clone, PartialEq)]
pub struct MtdAll {
    /// `IDENTIFIER`: the product id without its version, e.g. `VENUS-XS_…_L1C_SITE_C`.
    pub identifier: String,
    pub authority: String,
    pub producer: String,
    pub project: String,
    /// Site name (`GEOGRAPHICAL_ZONE type="Site"`).
    pub site: String,
    pub original_data_diffuser: String,
    /// `PRODUCT_ID`: the folder name.
    pub product_id: String,
    pub acquisition: NaiveDateTime,
    pub production: NaiveDateTime,
    /// `1.0`.
    pub product_version: String,
    /// `L1C`, `L2A`, `L3A`.
    pub level: String,
    pub platform: String,
    pub spectral_content: String,
    pub orbit_number: i64,
    /// Precision of the acquisition time, seconds.
    pub date_precision_s: f64,
    /// `B1` … `B12`, all in group `XS`.
    pub bands: Vec<String>,
    pub group_id: String,
    pub quicklook: String,
    pub quicklook_bands: String,
    pub images: Vec<FileGroup>,
    pub masks: Vec<FileGroup>,
    pub data: Vec<FileGroup>,
    pub epsg: u32,
    pub crs_name: String,
    /// In [`POINT_NAMES`] order.
    pub points: [GeoPoint; 5],
    pub ulx: f64,
    pub uly: f64,
    pub xdim: f64,
    pub ydim: f64,
    pub nrows: usize,
    pub ncols: usize,
    /// (zenith, azimuth) of the sun at the image centre, degrees.
    pub sun_mean: (f64, f64),
    /// (detector id `01`…`04`, zenith, azimuth) at the image centre, degrees.
    pub view_mean: Vec<(String, f64, f64)>,
    pub sun_grids: Option<AngleGrids>,
    pub view_grids: Vec<ViewingGrids>,
    pub reflectance_quantification: f64,
    pub water_vapor_quantification: Option<f64>,
    pub aot_quantification: Option<f64>,
    /// `SPECIAL_VALUE` (name, value).
    pub special_values: Vec<(String, String)>,
    pub band_infos: Vec<BandInfo>,
    /// `Product_Quality_List level=` (`Natif` for L1C, `N2` for L2A).
    pub quality_level: String,
    /// `QUALITY_INDEX` (name, value).
    pub quality_indexes: Vec<(String, String)>,
    pub jobs: Vec<Job>,
}

/// `YYYY-MM-DDThh:mm:ss.mmmZ`.
pub fn iso_ms(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn parse_iso(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim().trim_end_matches('Z');
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").ok()
}

pub use super::xml::{dec, num};

fn group_node(kind: &str, g: &FileGroup) -> Node {
    let (props, list, file) = match kind {
        "Image" => ("Image_Properties", "Image_File_List", "IMAGE_FILE"),
        "Mask" => ("Mask_Properties", "Mask_File_List", "MASK_FILE"),
        _ => ("Data_Properties", "Data_File_List", "DATA_FILE"),
    };
    let mut p = Node::new(props)
        .child(Node::text("NATURE", &g.nature))
        .child(Node::text("FORMAT", &g.format));
    for (name, v) in [
        ("ENCODING", &g.encoding),
        ("ENDIANNESS", &g.endianness),
        ("COMPRESSION", &g.compression),
    ] {
        if let Some(v) = v {
            p = p.child(Node::text(name, v));
        }
    }
    let files = g.files.iter().map(|f| {
        let mut n = Node::text(file, &f.path);
        for (k, v) in &f.attrs {
            n = n.attr(k, v);
        }
        n
    });
    Node::new(kind)
        .child(p)
        .child(Node::new(list).children(files))
}

fn grid_node(name: &str, g: &AngleGrid) -> Node {
    let rows = g.rows.iter().map(|r| {
        // Full precision (real products keep 6 digits): the grids read back to the native
        // float32 DX/DY planes exactly, so a package is as good an input as its native product.
        let vals: Vec<String> = r.iter().map(|&v| num(v)).collect();
        Node::text("VALUES", vals.join(" "))
    });
    Node::new(name)
        .attr("step_unit", "m")
        .attr("values_unit", "deg")
        .child(Node::text("COL_STEP", num(g.col_step_m)))
        .child(Node::text("ROW_STEP", num(g.row_step_m)))
        .child(Node::new("Values_List").children(rows))
}

fn grids_children(g: &AngleGrids) -> [Node; 2] {
    [
        grid_node("Zenith", &g.zenith),
        grid_node("Azimuth", &g.azimuth),
    ]
}

fn angle(name: &str, v: f64) -> Node {
    Node::text(name, dec(v, 6)).attr("unit", "deg")
}

fn product_ref(name: &str, (id, acq, prod): &(String, NaiveDateTime, NaiveDateTime)) -> Node {
    Node::new(name)
        .child(Node::text("PRODUCT_ID", id))
        .child(Node::text("ACQUISITION_DATE", iso_ms(*acq)))
        .child(Node::text("PRODUCTION_DATE", iso_ms(*prod)))
}

fn band_list(bands: &[String]) -> Node {
    Node::list(
        "Band_List",
        bands.iter().map(|b| Node::text("BAND_ID", b)).collect(),
    )
}

impl MtdAll {
    /// The XML tree, sections in schema order.
    pub fn to_node(&self) -> Node {
        let ident = Node::new("Metadata_Identification")
            .child(
                Node::text("METADATA_FORMAT", "METADATA_MUSCATE")
                    .attr("version", METADATA_FORMAT_VERSION),
            )
            .child(Node::text("METADATA_PROFILE", "USER"))
            .child(Node::text("METADATA_INFORMATION", "EXPERT"));
        let dataset = Node::new("Dataset_Identification")
            .child(Node::text("IDENTIFIER", &self.identifier))
            .child(Node::text("AUTHORITY", &self.authority))
            .child(Node::text("PRODUCER", &self.producer))
            .child(Node::text("PROJECT", &self.project))
            .child(Node::text("GEOGRAPHICAL_ZONE", &self.site).attr("type", "Site"))
            .child(Node::text(
                "ORIGINAL_DATA_DIFFUSER",
                &self.original_data_diffuser,
            ));
        let mut global = band_list(&self.bands);
        global.name = "Band_Global_List".into();
        let chars = Node::new("Product_Characteristics")
            .child(Node::text("PRODUCT_ID", &self.product_id))
            .child(Node::text("ACQUISITION_DATE", iso_ms(self.acquisition)))
            .child(Node::text("PRODUCTION_DATE", iso_ms(self.production)))
            .child(Node::text("PRODUCT_VERSION", &self.product_version))
            .child(Node::text("PRODUCT_LEVEL", &self.level))
            .child(Node::text("PLATFORM", &self.platform))
            .child(Node::text("SPECTRAL_CONTENT", &self.spectral_content))
            .child(Node::text("ORBIT_NUMBER", self.orbit_number).attr("type", "Orbit"))
            .child(
                Node::new("UTC_Acquisition_Range")
                    .child(Node::text("MEAN", iso_ms(self.acquisition)))
                    .child(
                        Node::text("DATE_PRECISION", dec(self.date_precision_s, 7))
                            .attr("unit", "s"),
                    ),
            )
            .child(global)
            .child(
                Node::new("Band_Group_List").child(
                    Node::new("Group")
                        .attr("group_id", &self.group_id)
                        .child(band_list(&self.bands)),
                ),
            );
        let mut product = Node::new("Muscate_Product").child(
            Node::text("QUICKLOOK", &self.quicklook).attr("bands_id", &self.quicklook_bands),
        );
        for (list, kind, groups) in [
            ("Image_List", "Image", &self.images),
            ("Mask_List", "Mask", &self.masks),
            ("Data_List", "Data", &self.data),
        ] {
            if !groups.is_empty() {
                product = product
                    .child(Node::new(list).children(groups.iter().map(|g| group_node(kind, g))));
            }
        }
        let orga = Node::new("Product_Organisation").child(product);

        let points = POINT_NAMES.iter().zip(&self.points).map(|(name, p)| {
            Node::new("Point")
                .attr("name", name)
                .child(Node::text("LAT", dec(p.lat, 9)))
                .child(Node::text("LON", dec(p.lon, 9)))
                .child(Node::text("X", num(p.x)))
                .child(Node::text("Y", num(p.y)))
        });
        let geo = Node::new("Geoposition_Informations")
            .child(
                Node::new("Coordinate_Reference_System")
                    .child(Node::text("GEO_TABLES", "EPSG"))
                    .child(
                        Node::new("Horizontal_Coordinate_System")
                            .child(Node::text("HORIZONTAL_CS_TYPE", "PROJECTED"))
                            .child(Node::text("HORIZONTAL_CS_NAME", &self.crs_name))
                            .child(Node::text("HORIZONTAL_CS_CODE", self.epsg)),
                    ),
            )
            .child(
                Node::new("Raster_CS")
                    .child(Node::text("RASTER_CS_TYPE", "CELL"))
                    .child(Node::text("PIXEL_ORIGIN", 0)),
            )
            .child(
                Node::new("Metadata_CS")
                    .child(Node::text("METADATA_CS_TYPE", "CELL"))
                    .child(Node::text("PIXEL_ORIGIN", 0)),
            )
            .child(
                Node::new("Geopositioning")
                    .child(Node::new("Global_Geopositioning").children(points))
                    .child(
                        Node::new("Group_Geopositioning_List").child(
                            Node::new("Group_Geopositioning")
                                .attr("group_id", &self.group_id)
                                .child(Node::text("ULX", num(self.ulx)))
                                .child(Node::text("ULY", num(self.uly)))
                                .child(Node::text("XDIM", num(self.xdim)))
                                .child(Node::text("YDIM", num(self.ydim)))
                                .child(Node::text("NROWS", self.nrows))
                                .child(Node::text("NCOLS", self.ncols)),
                        ),
                    ),
            );

        let view_means = self.view_mean.iter().map(|(d, z, a)| {
            Node::new("Mean_Viewing_Incidence_Angle")
                .attr("detector_id", d)
                .child(angle("ZENITH_ANGLE", *z))
                .child(angle("AZIMUTH_ANGLE", *a))
        });
        let mut grids = Node::new("Angles_Grids_List");
        if let Some(s) = &self.sun_grids {
            grids = grids.child(Node::new("Sun_Angles_Grids").children(grids_children(s)));
        }
        if !self.view_grids.is_empty() {
            grids = grids.child(Node::new("Viewing_Incidence_Angles_Grids_List").children(
                self.view_grids.iter().map(|v| {
                    Node::new("Band_Viewing_Incidence_Angles_Grids_List")
                        .attr("band_id", &v.band_id)
                        .child(
                            Node::new("Viewing_Incidence_Angles_Grids")
                                .attr("detector_id", &v.detector_id)
                                .children(grids_children(&v.grids)),
                        )
                }),
            ));
        }
        let mut geom = Node::new("Geometric_Informations").child(
            Node::new("Mean_Value_List")
                .child(
                    Node::new("Sun_Angles")
                        .child(angle("ZENITH_ANGLE", self.sun_mean.0))
                        .child(angle("AZIMUTH_ANGLE", self.sun_mean.1)),
                )
                .child(Node::new("Mean_Viewing_Incidence_Angle_List").children(view_means)),
        );
        if !grids.children.is_empty() {
            geom = geom.child(grids);
        }

        let mut radio = Node::new("Radiometric_Informations").child(Node::text(
            "REFLECTANCE_QUANTIFICATION_VALUE",
            num(self.reflectance_quantification),
        ));
        if let Some(q) = self.water_vapor_quantification {
            radio = radio.child(Node::text(
                "WATER_VAPOR_CONTENT_QUANTIFICATION_VALUE",
                num(q),
            ));
        }
        if let Some(q) = self.aot_quantification {
            radio = radio.child(Node::text(
                "AEROSOL_OPTICAL_THICKNESS_QUANTIFICATION_VALUE",
                num(q),
            ));
        }
        radio = radio
            .child(
                Node::new("Special_Values_List").children(
                    self.special_values
                        .iter()
                        .map(|(k, v)| Node::text("SPECIAL_VALUE", v).attr("name", k)),
                ),
            )
            .child(Node::new("Spectral_Band_Informations_List").children(
                self.band_infos.iter().map(|b| {
                    let coefs = b
                        .coefficients
                        .iter()
                        .map(|(k, v)| Node::text("COEFFICIENT", dec(*v, 6)).attr("name", k));
                    let mut n = Node::new("Spectral_Band_Informations")
                        .attr("band_id", &b.band_id)
                        .child(
                            Node::new("Calibration_Coefficients_Lists")
                                .child(Node::new("Native_Coefficients_List").children(coefs)),
                        )
                        .child(
                            Node::text("SPATIAL_RESOLUTION", num(b.resolution_m)).attr("unit", "m"),
                        );
                    if let Some((lo, hi, c)) = b.wavelength_nm {
                        n = n.child(
                            Node::new("Wavelength")
                                .child(Node::text("MIN", num(lo)).attr("unit", "nm"))
                                .child(Node::text("MAX", num(hi)).attr("unit", "nm"))
                                .child(Node::text("CENTRAL", num(c)).attr("unit", "nm")),
                        );
                    }
                    n
                }),
            ));

        let quality =
            Node::new("Quality_Informations").child(
                Node::new("Current_Product").child(
                    Node::new("Product_Quality_List")
                        .attr("level", &self.quality_level)
                        .child(
                            Node::new("Product_Quality")
                                .child(product_ref(
                                    "Source_Product",
                                    &(self.product_id.clone(), self.acquisition, self.production),
                                ))
                                .child(Node::new("Global_Index_List").children(
                                    self.quality_indexes.iter().map(|(k, v)| {
                                        Node::text("QUALITY_INDEX", v).attr("name", k)
                                    }),
                                )),
                        ),
                ),
            );

        let jobs = self.jobs.iter().map(|j| {
            Node::new("Job")
                .child(Node::text("WORKPLAN_ID", &j.workplan_id))
                .child(Node::text("STEP_ID", &j.step_id))
                .child(Node::text("JOB_ID", &j.job_id))
                .child(Node::text("PRODUCER_NAME", &j.producer))
                .child(Node::text("START_PRODUCTION_DATE", iso_ms(j.start)))
                .child(Node::text("END_PRODUCTION_DATE", iso_ms(j.end)))
                .child(
                    Node::new("Products_List")
                        .child(
                            Node::new("Inputs_List")
                                .children(j.inputs.iter().map(|p| product_ref("PRODUCT", p))),
                        )
                        .child(
                            Node::new("Outputs_List")
                                .children(j.outputs.iter().map(|p| product_ref("PRODUCT", p))),
                        ),
                )
        });
        let production = Node::new("Production_Informations")
            .child(Node::new("Processing_Jobs_List").children(jobs));

        Node::new("Muscate_Metadata_Document")
            .attr("xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance")
            .attr("xsi:noNamespaceSchemaLocation", "Muscate_Metadata.xsd")
            .child(ident)
            .child(dataset)
            .child(chars)
            .child(orga)
            .child(geo)
            .child(geom)
            .child(radio)
            .child(quality)
            .child(production)
    }

    /// The document text.
    pub fn to_xml(&self) -> String {
        self.to_node().to_xml()
    }

    /// Reads a `*_MTD_ALL.xml`; errors name the file (exit 3).
    pub fn read(path: &Path) -> Result<MtdAll> {
        MtdAll::from_node(&Node::read(path)?, path)
    }

    /// The model of a parsed document; `origin` names it in errors.
    pub fn from_node(root: &Node, origin: &Path) -> Result<MtdAll> {
        let r = R { origin };
        if root.name != "Muscate_Metadata_Document" {
            return Err(r.bad(format!(
                "root element is <{}>, not <Muscate_Metadata_Document>",
                root.name
            )));
        }
        let ds = r.node(root, "Dataset_Identification")?;
        let pc = r.node(root, "Product_Characteristics")?;
        let mp = r.node(root, "Product_Organisation/Muscate_Product")?;
        let geo = r.node(root, "Geoposition_Informations")?;
        let gg = r.node(
            geo,
            "Geopositioning/Group_Geopositioning_List/Group_Geopositioning",
        )?;
        let gm = r.node(root, "Geometric_Informations")?;
        let radio = r.node(root, "Radiometric_Informations")?;
        let pql = r.node(
            root,
            "Quality_Informations/Current_Product/Product_Quality_List",
        )?;

        let mut points = [GeoPoint {
            lat: 0.0,
            lon: 0.0,
            x: 0.0,
            y: 0.0,
        }; 5];
        let global = r.node(geo, "Geopositioning/Global_Geopositioning")?;
        for (i, name) in POINT_NAMES.iter().enumerate() {
            let p = global
                .all("Point")
                .find(|p| p.get_attr("name") == Some(name))
                .ok_or_else(|| r.bad(format!("no Global_Geopositioning point {name}")))?;
            points[i] = GeoPoint {
                lat: r.f64(p, "LAT")?,
                lon: r.f64(p, "LON")?,
                x: r.f64(p, "X")?,
                y: r.f64(p, "Y")?,
            };
        }
        let groups = |list: &str, kind: &str| -> Result<Vec<FileGroup>> {
            let Some(l) = mp.get(list) else {
                return Ok(Vec::new());
            };
            l.all(kind).map(|g| r.group(g)).collect()
        };
        let grids = |n: &Node| -> Result<AngleGrids> {
            Ok(AngleGrids {
                zenith: r.grid(r.node(n, "Zenith")?)?,
                azimuth: r.grid(r.node(n, "Azimuth")?)?,
            })
        };
        let agl = gm.get("Angles_Grids_List");
        let sun_grids = match agl.and_then(|a| a.get("Sun_Angles_Grids")) {
            Some(s) => Some(grids(s)?),
            None => None,
        };
        let mut view_grids = Vec::new();
        if let Some(l) = agl.and_then(|a| a.get("Viewing_Incidence_Angles_Grids_List")) {
            for b in l.all("Band_Viewing_Incidence_Angles_Grids_List") {
                for v in b.all("Viewing_Incidence_Angles_Grids") {
                    view_grids.push(ViewingGrids {
                        band_id: b.get_attr("band_id").unwrap_or_default().to_string(),
                        detector_id: v.get_attr("detector_id").unwrap_or_default().to_string(),
                        grids: grids(v)?,
                    });
                }
            }
        }
        let opt_f64 = |n: &Node, p: &str| -> Result<Option<f64>> {
            match n.get(p) {
                Some(_) => Ok(Some(r.f64(n, p)?)),
                None => Ok(None),
            }
        };
        let band_infos = r
            .node(radio, "Spectral_Band_Informations_List")?
            .all("Spectral_Band_Informations")
            .map(|b| {
                let coefficients =
                    match b.find("Calibration_Coefficients_Lists/Native_Coefficients_List") {
                        Some(l) => l
                            .all("COEFFICIENT")
                            .map(|c| {
                                Ok((
                                    c.get_attr("name").unwrap_or_default().to_string(),
                                    r.parse_f64(&c.text, "COEFFICIENT")?,
                                ))
                            })
                            .collect::<Result<Vec<_>>>()?,
                        None => Vec::new(),
                    };
                let wavelength_nm = match b.get("Wavelength") {
                    Some(w) if w.get("CENTRAL").is_some() => {
                        Some((r.f64(w, "MIN")?, r.f64(w, "MAX")?, r.f64(w, "CENTRAL")?))
                    }
                    _ => None,
                };
                Ok(BandInfo {
                    band_id: b.get_attr("band_id").unwrap_or_default().to_string(),
                    coefficients,
                    resolution_m: r.f64(b, "SPATIAL_RESOLUTION")?,
                    wavelength_nm,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let prod_ref = |p: &Node| -> Result<(String, NaiveDateTime, NaiveDateTime)> {
            Ok((
                r.text(p, "PRODUCT_ID")?.to_string(),
                r.time(p, "ACQUISITION_DATE")?,
                r.time(p, "PRODUCTION_DATE")?,
            ))
        };
        let jobs = match root.find("Production_Informations/Processing_Jobs_List") {
            Some(l) => l
                .all("Job")
                .map(|j| {
                    let pl = r.node(j, "Products_List")?;
                    Ok(Job {
                        workplan_id: r.text(j, "WORKPLAN_ID")?.to_string(),
                        step_id: r.text(j, "STEP_ID")?.to_string(),
                        job_id: r.text(j, "JOB_ID")?.to_string(),
                        producer: r.text(j, "PRODUCER_NAME")?.to_string(),
                        start: r.time(j, "START_PRODUCTION_DATE")?,
                        end: r.time(j, "END_PRODUCTION_DATE")?,
                        inputs: pl
                            .get("Inputs_List")
                            .map(|l| l.all("PRODUCT").map(prod_ref).collect())
                            .transpose()?
                            .unwrap_or_default(),
                        outputs: pl
                            .get("Outputs_List")
                            .map(|l| l.all("PRODUCT").map(prod_ref).collect())
                            .transpose()?
                            .unwrap_or_default(),
                    })
                })
                .collect::<Result<Vec<_>>>()?,
            None => Vec::new(),
        };
        let group = r.node(pc, "Band_Group_List/Group")?;
        Ok(MtdAll {
            identifier: r.text(ds, "IDENTIFIER")?.to_string(),
            authority: r.text(ds, "AUTHORITY")?.to_string(),
            producer: r.text(ds, "PRODUCER")?.to_string(),
            project: r.text(ds, "PROJECT")?.to_string(),
            site: r.text(ds, "GEOGRAPHICAL_ZONE")?.to_string(),
            original_data_diffuser: r.text(ds, "ORIGINAL_DATA_DIFFUSER")?.to_string(),
            product_id: r.text(pc, "PRODUCT_ID")?.to_string(),
            acquisition: r.time(pc, "ACQUISITION_DATE")?,
            production: r.time(pc, "PRODUCTION_DATE")?,
            product_version: r.text(pc, "PRODUCT_VERSION")?.to_string(),
            level: r.text(pc, "PRODUCT_LEVEL")?.to_string(),
            platform: r.text(pc, "PLATFORM")?.to_string(),
            spectral_content: r.text(pc, "SPECTRAL_CONTENT")?.to_string(),
            orbit_number: r
                .text(pc, "ORBIT_NUMBER")?
                .parse()
                .map_err(|_| r.bad("ORBIT_NUMBER is not an integer"))?,
            date_precision_s: r.f64(pc, "UTC_Acquisition_Range/DATE_PRECISION")?,
            bands: r
                .node(pc, "Band_Global_List")?
                .all("BAND_ID")
                .map(|b| b.text.trim().to_string())
                .collect(),
            group_id: group.get_attr("group_id").unwrap_or_default().to_string(),
            quicklook: r.text(mp, "QUICKLOOK")?.to_string(),
            quicklook_bands: r
                .node(mp, "QUICKLOOK")?
                .get_attr("bands_id")
                .unwrap_or_default()
                .to_string(),
            images: groups("Image_List", "Image")?,
            masks: groups("Mask_List", "Mask")?,
            data: groups("Data_List", "Data")?,
            epsg: r
                .text(
                    geo,
                    "Coordinate_Reference_System/Horizontal_Coordinate_System/HORIZONTAL_CS_CODE",
                )?
                .parse()
                .map_err(|_| r.bad("HORIZONTAL_CS_CODE is not an EPSG code"))?,
            crs_name: r
                .text(
                    geo,
                    "Coordinate_Reference_System/Horizontal_Coordinate_System/HORIZONTAL_CS_NAME",
                )?
                .to_string(),
            points,
            ulx: r.f64(gg, "ULX")?,
            uly: r.f64(gg, "ULY")?,
            xdim: r.f64(gg, "XDIM")?,
            ydim: r.f64(gg, "YDIM")?,
            nrows: r.f64(gg, "NROWS")? as usize,
            ncols: r.f64(gg, "NCOLS")? as usize,
            sun_mean: (
                r.f64(gm, "Mean_Value_List/Sun_Angles/ZENITH_ANGLE")?,
                r.f64(gm, "Mean_Value_List/Sun_Angles/AZIMUTH_ANGLE")?,
            ),
            view_mean: r
                .node(gm, "Mean_Value_List/Mean_Viewing_Incidence_Angle_List")?
                .all("Mean_Viewing_Incidence_Angle")
                .map(|v| {
                    Ok((
                        v.get_attr("detector_id").unwrap_or_default().to_string(),
                        r.f64(v, "ZENITH_ANGLE")?,
                        r.f64(v, "AZIMUTH_ANGLE")?,
                    ))
                })
                .collect::<Result<Vec<_>>>()?,
            sun_grids,
            view_grids,
            reflectance_quantification: r.f64(radio, "REFLECTANCE_QUANTIFICATION_VALUE")?,
            water_vapor_quantification: opt_f64(radio, "WATER_VAPOR_CONTENT_QUANTIFICATION_VALUE")?,
            aot_quantification: opt_f64(radio, "AEROSOL_OPTICAL_THICKNESS_QUANTIFICATION_VALUE")?,
            special_values: r
                .node(radio, "Special_Values_List")?
                .all("SPECIAL_VALUE")
                .map(|s| {
                    (
                        s.get_attr("name").unwrap_or_default().to_string(),
                        s.text.trim().to_string(),
                    )
                })
                .collect(),
            band_infos,
            quality_level: pql.get_attr("level").unwrap_or_default().to_string(),
            quality_indexes: pql
                .find("Product_Quality/Global_Index_List")
                .map(|l| {
                    l.all("QUALITY_INDEX")
                        .map(|q| {
                            (
                                q.get_attr("name").unwrap_or_default().to_string(),
                                q.text.trim().to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
            jobs,
        })
    }

    /// Every file the metadata names (quicklook, images, masks, data), relative to the
    /// product folder, without duplicates, in first-mention order.
    pub fn referenced_files(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let ql = self.quicklook.trim_start_matches("./").to_string();
        for p in std::iter::once(ql).chain(
            self.images
                .iter()
                .chain(&self.masks)
                .chain(&self.data)
                .flat_map(|g| g.files.iter().map(|f| f.path.clone())),
        ) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }
}

struct R<'a> {
    origin: &'a Path,
}

impl R<'_> {
    fn bad(&self, msg: impl std::fmt::Display) -> VipError {
        VipError::bad_input(self.origin, msg)
    }

    fn node<'n>(&self, n: &'n Node, path: &str) -> Result<&'n Node> {
        n.find(path)
            .ok_or_else(|| self.bad(format!("no {path} in {}", n.name)))
    }

    fn text<'n>(&self, n: &'n Node, path: &str) -> Result<&'n str> {
        Ok(self.node(n, path)?.text.trim())
    }

    fn parse_f64(&self, t: &str, what: &str) -> Result<f64> {
        t.trim()
            .parse()
            .map_err(|_| self.bad(format!("{what} '{}' is not a number", t.trim())))
    }

    fn f64(&self, n: &Node, path: &str) -> Result<f64> {
        self.parse_f64(self.text(n, path)?, path)
    }

    fn time(&self, n: &Node, path: &str) -> Result<NaiveDateTime> {
        let t = self.text(n, path)?;
        parse_iso(t).ok_or_else(|| self.bad(format!("{path} '{t}' is not a date-time")))
    }

    fn grid(&self, n: &Node) -> Result<AngleGrid> {
        let rows = self
            .node(n, "Values_List")?
            .all("VALUES")
            .map(|v| {
                v.text
                    .split_whitespace()
                    .map(|x| self.parse_f64(x, "VALUES"))
                    .collect()
            })
            .collect::<Result<Vec<Vec<f64>>>>()?;
        Ok(AngleGrid {
            col_step_m: self.f64(n, "COL_STEP")?,
            row_step_m: self.f64(n, "ROW_STEP")?,
            rows,
        })
    }

    fn group(&self, g: &Node) -> Result<FileGroup> {
        let props = g
            .children
            .iter()
            .find(|c| c.name.ends_with("_Properties"))
            .ok_or_else(|| self.bad(format!("<{}> without properties", g.name)))?;
        let list = g
            .children
            .iter()
            .find(|c| c.name.ends_with("_File_List"))
            .ok_or_else(|| self.bad(format!("<{}> without a file list", g.name)))?;
        let opt = |name: &str| props.find_text(name).map(str::to_string);
        Ok(FileGroup {
            nature: self.text(props, "NATURE")?.to_string(),
            format: self.text(props, "FORMAT")?.to_string(),
            encoding: opt("ENCODING"),
            endianness: opt("ENDIANNESS"),
            compression: opt("COMPRESSION"),
            files: list
                .children
                .iter()
                .map(|f| FileRef {
                    path: f.text.trim().to_string(),
                    attrs: f.attrs.clone(),
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_validated_example() {
        let p = crate::testdata(
            "venus/examples/VENUS-XS_20180102-105148-000_L2A_CAMARGUE_C_V1-0_MTD_ALL.xml",
        );
        let m = MtdAll::read(&p).unwrap();
        assert_eq!(m.level, "L2A");
        assert_eq!(m.bands.len(), 12);
        assert_eq!(m.epsg, 32631);
        assert_eq!(m.nrows, 10980);
        assert_eq!(m.view_mean.len(), 4);
        assert_eq!(m.reflectance_quantification, 1000.0);
        assert_eq!(m.aot_quantification, Some(200.0));
        let sre = m
            .images
            .iter()
            .find(|g| g.nature == "Surface_Reflectance")
            .unwrap();
        assert_eq!(sre.files.len(), 12);
        let sat = m.masks.iter().find(|g| g.nature == "Saturation").unwrap();
        assert_eq!(sat.files[11].attr("bit_number"), Some("12"));
        assert_eq!(m.sun_grids.as_ref().unwrap().zenith.rows.len(), 3);
        // What we write reads back as the same model (coordinates keep 9 decimals, so the
        // example's 10-decimal latitudes are compared after one writing).
        let again = |m: &MtdAll| {
            MtdAll::from_node(
                &Node::parse(&m.to_xml(), Path::new("mem")).unwrap(),
                Path::new("mem"),
            )
            .unwrap()
        };
        let once = again(&m);
        assert!((once.points[0].lat - m.points[0].lat).abs() < 1e-9);
        assert_eq!(once.sun_grids, m.sun_grids);
        assert_eq!(once.masks, m.masks);
        assert_eq!(again(&once), once);
    }

    #[test]
    fn a_wrong_root_is_bad_input() {
        let n = Node::parse("<Earth_Explorer_Header/>", Path::new("x.xml")).unwrap();
        let e = MtdAll::from_node(&n, Path::new("x.xml")).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("Muscate_Metadata_Document"), "{e}");
    }
}
