//! Theia/MUSCATE products as inputs, the fourth product model: a package folder, its zip, or
//! its `*_MTD_ALL.xml` (ICD-DIGEST §7; the layout `vip-pack` writes, docs/formats.md).
//!
//! The tools read native products. A MUSCATE L1C or L2A is read through its *native view*: in
//! a temporary folder, the native headers made from `MTD_ALL.xml` ([`L1c::write_headers`],
//! [`L2a::write_headers`]); the images as GDAL VRTs stacking the package's files where they
//! are (in the folder or, through `/vsizip/`, in the zip: nothing is extracted); the L2A's
//! native masks rebuilt from the MUSCATE ones; the L1C's cloud altitude from its
//! `Cloud_Altitude_Grid` file; and the SOL and VIE annexes made from the angle grids of
//! `MTD_ALL.xml`. Every tool then opens the view's global header as it opens any native
//! product ([`Input`]). What a package does not carry is absent from its view: no GIPP list,
//! no DEM statistics; the corner angles of the header are the package's mean angles.
//!
//! Before anything is made, the package is checked: `MTD_ALL.xml` valid against the MUSCATE
//! schema, of VENµS and of a level the caller takes, every file it names present, no zip entry
//! outside the package folder. Each failure is a bad input (exit 3) naming the package.

use std::path::{Path, PathBuf};

use super::common::SiteHeader;
use super::l1c::{self, angles_to_grid, L1c, ProcessingFlags};
use super::l2a::{self, L2a, Validity};
use super::AngleSet;
use crate::ee::muscate::{AngleGrids, MtdAll};
use crate::ee::naming;
use crate::ee::xml::Node;
use crate::ee::ProductId;
use crate::error::{Result, VipError};
use crate::mission::venus;
use crate::pack::site::band_id;
use crate::raster::{self, RasterSpec, SampleType};

/// Suffix of the metadata file of a MUSCATE product.
pub const MTD_SUFFIX: &str = "_MTD_ALL.xml";
/// Largest `MTD_ALL.xml` read (a VENµS one is under 1 MB).
const MAX_MTD_BYTES: u64 = 16 << 20;

/// A MUSCATE product, checked and its metadata read.
#[derive(Debug)]
pub struct Muscate {
    /// What was given: the folder, the zip or the metadata file (named in errors).
    pub origin: PathBuf,
    pub mtd: MtdAll,
    /// GDAL path of the package folder: the folder itself, or `/vsizip/<zip>/<folder>`.
    base: String,
}

/// Whether `path` is given as a MUSCATE product (a zip, a `*_MTD_ALL.xml`, or a folder
/// holding one) rather than a native global header.
pub fn is_muscate(path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    name.ends_with(MTD_SUFFIX)
        || name.to_ascii_lowercase().ends_with(".zip")
        || (path.is_dir() && find_mtd(path).is_ok())
}

fn find_mtd(dir: &Path) -> Result<PathBuf> {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| VipError::input_io(dir, &e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(MTD_SUFFIX))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(VipError::bad_input(
            dir,
            format!("no *{MTD_SUFFIX} in the folder: not a MUSCATE product"),
        )),
        _ => Err(VipError::bad_input(
            dir,
            format!("{} *{MTD_SUFFIX} files in one folder", found.len()),
        )),
    }
}

/// The files of a package: in a folder, or the entries of a zip.
enum Files {
    Folder(PathBuf),
    Zip(std::collections::HashSet<String>),
}

impl Files {
    fn has(&self, rel: &str) -> bool {
        match self {
            Files::Folder(dir) => dir.join(rel).is_file(),
            Files::Zip(entries) => entries.contains(rel),
        }
    }
}

/// The metadata text, the GDAL path of the package folder and its files, of a zipped package.
fn read_zip(path: &Path) -> Result<(Vec<u8>, String, Files)> {
    let bad = |m: String| VipError::bad_input(path, m);
    let mut z = crate::pack::archive::list_zip(path)?;
    let mtd: Vec<usize> = z
        .files
        .iter()
        .filter(|(_, r)| !r.contains('/') && r.ends_with(MTD_SUFFIX))
        .map(|(i, _)| *i)
        .collect();
    let &[index] = mtd.as_slice() else {
        return Err(bad(format!(
            "{} *{MTD_SUFFIX} in the package folder '{}/', not one",
            mtd.len(),
            z.top
        )));
    };
    let entry = z
        .archive
        .by_index(index)
        .map_err(|e| bad(format!("metadata entry: {e}")))?;
    let mut text = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(entry, MAX_MTD_BYTES + 1),
        &mut text,
    )
    .map_err(|e| bad(format!("metadata entry: {e}")))?;
    if text.len() as u64 > MAX_MTD_BYTES {
        return Err(bad(format!("metadata over {MAX_MTD_BYTES} bytes")));
    }
    let abs = std::fs::canonicalize(path).map_err(|e| VipError::input_io(path, &e))?;
    let base = format!("/vsizip/{}/{}", abs.display(), z.top);
    let files = z.files.into_iter().map(|(_, r)| r).collect();
    Ok((text, base, Files::Zip(files)))
}

/// The metadata text, the absolute path of the package folder and its files, of a package
/// given as its folder or its metadata file.
fn read_folder(path: &Path) -> Result<(Vec<u8>, String, Files)> {
    let mtd = if path.to_string_lossy().ends_with(MTD_SUFFIX) {
        path.to_path_buf()
    } else {
        find_mtd(path)?
    };
    let text = crate::input::read_file(&mtd, MAX_MTD_BYTES, "MUSCATE metadata")?;
    let dir = mtd.parent().unwrap_or(Path::new("."));
    // absolute, so that the view's VRTs find the files from wherever they are read
    let dir = std::fs::canonicalize(dir).map_err(|e| VipError::input_io(dir, &e))?;
    Ok((text, dir.display().to_string(), Files::Folder(dir)))
}

impl Muscate {
    /// Opens and checks the MUSCATE product at `path` (folder, zip or metadata file) for one
    /// of `levels` (`L1C`, `L2A`, ...).
    pub fn open(path: &Path, levels: &[&str]) -> Result<Muscate> {
        let bad = |m: String| VipError::bad_input(path, m);
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let (text, base, files) = if name.to_ascii_lowercase().ends_with(".zip") {
            read_zip(path)?
        } else {
            read_folder(path)?
        };
        crate::ee::schema::validate_bytes(&text)
            .map_err(|e| bad(format!("MTD_ALL.xml does not validate: {e}")))?;
        let xml = String::from_utf8(text).map_err(|_| bad("MTD_ALL.xml is not UTF-8".into()))?;
        let mtd = MtdAll::from_node(&Node::parse(&xml, path)?, path)?;
        if mtd.platform != "VENUS" {
            return Err(bad(format!(
                "a {} product: VIP reads VENµS products",
                mtd.platform
            )));
        }
        if !levels.contains(&mtd.level.as_str()) {
            return Err(bad(format!(
                "a MUSCATE {} product; this takes {}",
                mtd.level,
                levels.join(" or ")
            )));
        }
        for rel in mtd.referenced_files() {
            let rel = rel.trim_start_matches("./");
            if !crate::pack::is_safe_relative(rel) {
                return Err(bad(format!(
                    "MTD_ALL.xml names '{rel}' outside the package"
                )));
            }
            if !files.has(rel) {
                return Err(bad(format!("MTD_ALL.xml names '{rel}', which is missing")));
            }
        }
        Ok(Muscate {
            origin: path.to_path_buf(),
            mtd,
            base,
        })
    }

    fn bad(&self, msg: impl std::fmt::Display) -> VipError {
        VipError::bad_input(&self.origin, msg)
    }

    /// GDAL path of file `rel` of the package.
    fn file(&self, rel: &str) -> PathBuf {
        PathBuf::from(format!("{}/{}", self.base, rel.trim_start_matches("./")))
    }

    /// Whether the metadata lists files of nature `nature`.
    fn has_group(&self, nature: &str) -> bool {
        let m = &self.mtd;
        m.images
            .iter()
            .chain(&m.masks)
            .chain(&m.data)
            .any(|g| g.nature == nature)
    }

    /// The one file of group `nature` (images, masks or data) for band `band` (`None`: the
    /// group's single file).
    fn group_file(&self, nature: &str, band: Option<&str>) -> Result<PathBuf> {
        let mut groups = self
            .mtd
            .images
            .iter()
            .chain(&self.mtd.masks)
            .chain(&self.mtd.data);
        let g = groups
            .find(|g| g.nature == nature)
            .ok_or_else(|| self.bad(format!("MTD_ALL.xml has no {nature} files")))?;
        let f = match band {
            Some(b) => g.files.iter().find(|f| f.attr("band_id") == Some(b)),
            None => g.files.first(),
        }
        .ok_or_else(|| {
            self.bad(format!(
                "MTD_ALL.xml has no {nature} file for {}",
                band.unwrap_or("the group")
            ))
        })?;
        Ok(self.file(&f.path))
    }

    /// The site header the package describes. The file class is the one of the native product
    /// its production job names (a package made by `vip-pack`), else `OPER`.
    fn site_header(&self) -> Result<SiteHeader> {
        let m = &self.mtd;
        let nick = naming::nick_name(&m.site).map_err(|e| self.bad(e))?;
        let class = m
            .jobs
            .iter()
            .find_map(|j| ProductId::parse(&j.job_id).ok())
            .map_or_else(|| "OPER".to_string(), |id| id.class);
        let nodata = self.special("nodata").unwrap_or(-10000.0);
        if m.reflectance_quantification <= 0.0 || m.xdim <= 0.0 {
            return Err(self.bad(format!(
                "reflectance quantification {} and pixel {} m must be positive",
                m.reflectance_quantification, m.xdim
            )));
        }
        let sun = m
            .sun_grids
            .as_ref()
            .ok_or_else(|| self.bad("MTD_ALL.xml has no Sun_Angles_Grid"))?;
        // MUSCATE order UL, UR, LR, LL, centre; native UL, UR, LL, LR, centre.
        let ll = |i: usize| (m.points[i].lon, m.points[i].lat);
        let view_mean = |d: usize| {
            m.view_mean
                .iter()
                .find(|(id, _, _)| id.trim_start_matches('0') == (d + 1).to_string())
                .map_or(AngleSet::default(), |&(_, z, a)| AngleSet::uniform(z, a))
        };
        let aks = m
            .band_infos
            .iter()
            .filter_map(|b| b.coefficients.iter().find(|(k, _)| k == "Ak").map(|c| c.1))
            .collect();
        let cloud = m
            .quality_indexes
            .iter()
            .find(|(k, _)| k == "CloudPercent")
            .and_then(|(_, v)| v.parse().ok());
        Ok(SiteHeader {
            class,
            nick,
            date: m.acquisition.date(),
            acquisition: m.acquisition,
            orbit: u32::try_from(m.orbit_number).ok().filter(|&o| o > 0),
            epsg: m.epsg,
            ulx: m.ulx,
            uly: m.uly,
            pixel_m: m.xdim,
            lines: m.nrows,
            cols: m.ncols,
            quantification: 1.0 / m.reflectance_quantification,
            nodata: nodata as i16,
            gipps_used: vec![],
            sun: AngleSet::uniform(m.sun_mean.0, m.sun_mean.1),
            view: std::array::from_fn(view_mean),
            view_in_satellite_frame: None,
            corners_lonlat: [ll(0), ll(1), ll(3), ll(2), ll(4)],
            cloud_percentage: cloud,
            dem_reference: "NONE".into(),
            dem_stats: None,
            aks,
            angle_grid_step_m: sun.zenith.col_step_m,
            creation: m.production,
            creator: m.producer.clone(),
            creator_version: m.product_version.clone(),
        })
    }

    /// Writes the native view of a MUSCATE L1C into `dir` (see the module doc); returns its
    /// global header.
    pub fn l1c_view(&self, dir: &Path) -> Result<PathBuf> {
        let site = self.site_header()?;
        // the stereo cloud altitude, when the package carries it
        let cla = if self.has_group("Cloud_Altitude_Grid") {
            let path = self.group_file("Cloud_Altitude_Grid", None)?;
            let ds = raster::open(&path)?;
            let (cols, lines) = ds.raster_size();
            let step = (raster::geo_transform(&ds)?[1] / site.pixel_m).round() as usize;
            if step == 0 || lines != site.lines.div_ceil(step) || cols != site.cols.div_ceil(step) {
                return Err(self.bad(format!(
                    "cloud altitude grid of {cols} × {lines} cells does not cover the image"
                )));
            }
            Some((
                path,
                l1c::ClaGrid {
                    lines,
                    cols,
                    step: (step, step),
                },
            ))
        } else {
            None
        };
        let l1c = L1c {
            site,
            input_product_id: String::new(),
            flags: ProcessingFlags::default(),
            reference_image: None,
            cloud_statistics: None,
            quality_indexes: vec![],
            cla: cla.as_ref().map(|c| c.1),
            quicklook: None,
        };
        let hdr = l1c.write_headers(dir)?;
        if let Some((path, _)) = cla {
            let dest = l1c.annex_path(dir, l1c::ANNEX_CLA);
            gdal::programs::raster::build_vrt(Some(&dest), &[raster::open(&path)?], None)
                .map_err(|e| VipError::output(&dest, format!("cannot build the VRT: {e}")))?;
        }
        let mut sources = Vec::with_capacity(l1c::IMAGE_BANDS.len());
        for b in venus::BANDS {
            sources.push(self.group_file("Reflectance", Some(&band_id(b.code)))?);
        }
        sources.push(self.group_file("Saturation", Some("B1"))?);
        sources.push(self.group_file("Aberrant_Pixels", Some("B1"))?);
        sources.push(self.group_file("Cloud", None)?);
        stack(
            &sources,
            &l1c.image_path(dir),
            (l1c.site.cols, l1c.site.lines),
        )?;
        self.write_grids(
            &l1c.site,
            &l1c.annex_path(dir, l1c::ANNEX_SOL),
            &l1c.annex_path(dir, l1c::ANNEX_VIE),
        )?;
        Ok(hdr)
    }

    /// Writes the native view of a MUSCATE L2A into `dir` (see the module doc); returns its
    /// global header. Its CLD, MSK and QLT annexes are rebuilt from the MUSCATE masks (the
    /// inverse of the bit tables of `vip-pack`); the QLT bit of LUT-clamped geometry, which
    /// MUSCATE has no mask for, is 0.
    pub fn l2a_view(&self, dir: &Path) -> Result<PathBuf> {
        let m = &self.mtd;
        let quant = |q: Option<f64>, what: &str| match q {
            Some(q) if q > 0.0 => Ok(1.0 / q),
            _ => Err(self.bad(format!("MTD_ALL.xml has no {what} quantification value"))),
        };
        let used_products: Vec<String> = m
            .jobs
            .iter()
            .flat_map(|j| j.inputs.iter().map(|i| i.0.clone()))
            .collect();
        let l2a = L2a {
            validity: Validity::Valid,
            site: self.site_header()?,
            vap_quantification: quant(m.water_vapor_quantification, "water vapour")?,
            aot_quantification: quant(m.aot_quantification, "AOT")?,
            vap_nodata: self.special("water_vapor_content_nodata").unwrap_or(0.0) as u8,
            aot_nodata: self
                .special("aerosol_optical_thickness_nodata")
                .unwrap_or(0.0) as u8,
            processing_mode: l2a::PROCESSING_MODES[0].into(),
            adjacency_and_slope: true,
            used_products: if used_products.is_empty() {
                vec![m.product_id.clone()]
            } else {
                used_products
            },
            aerosol_note: String::new(),
        };
        let hdr = l2a.write_headers(dir)?;
        let size = (l2a.site.cols, l2a.site.lines);
        for (nature, code) in [
            ("Surface_Reflectance", l2a::IMAGE_SRE),
            ("Flat_Reflectance", l2a::IMAGE_FRE),
        ] {
            let sources = venus::BANDS
                .iter()
                .map(|b| self.group_file(nature, Some(&band_id(b.code))))
                .collect::<Result<Vec<_>>>()?;
            stack(&sources, &l2a.image_path(dir, code), size)?;
        }
        let atb = self.group_file("Water_Vapor_Content", None)?;
        let atb = raster::expect_shape(&atb, size, l2a::ATB_BANDS.len())?;
        let dest = l2a.annex_path(dir, l2a::ANNEX_ATB);
        gdal::programs::raster::build_vrt(Some(&dest), &[atb], None)
            .map_err(|e| VipError::output(&dest, format!("cannot build the VRT: {e}")))?;
        self.write_l2a_masks(&l2a, dir)?;
        self.write_grids(
            &l2a.site,
            &l2a.annex_path(dir, l2a::ANNEX_SOL),
            &l2a.annex_path(dir, l2a::ANNEX_VIE),
        )?;
        Ok(hdr)
    }

    /// The native CLD, MSK and QLT annexes of the L2A view, strip by strip.
    fn write_l2a_masks(&self, p: &L2a, dir: &Path) -> Result<()> {
        use crate::pack::l2a::{CLM_FROM_CLD, IAB_FROM_OTH, MG2_FROM_NATIVE};
        const ROWS: usize = 256;
        let size = (p.site.cols, p.site.lines);
        let open = |nature: &str, band: Option<&str>| {
            raster::expect_shape(&self.group_file(nature, band)?, size, 1)
        };
        let clm = open("Detailed_Cloud", None)?;
        let mg2 = open("Water", None)?;
        let edg = open("Edge", None)?;
        let iab = open("WVC_Interpolation", None)?;
        let sat = open("Saturation", Some("B1"))?;
        let pix = open("Aberrant_Pixels", Some("B1"))?;
        let spec = |bands: usize, t: SampleType, names: &[&str]| -> Result<RasterSpec> {
            let mut spec = RasterSpec::new(size.0, size.1, bands, t);
            let s = &p.site;
            spec.geo_transform = [s.ulx, s.pixel_m, 0.0, s.uly, 0.0, -s.pixel_m];
            spec.srs_wkt = raster::srs_wkt_from_epsg(s.epsg)?;
            spec.band_descriptions = names.iter().map(|n| n.to_string()).collect();
            Ok(spec)
        };
        let paths = [
            p.annex_path(dir, l2a::ANNEX_CLD),
            p.annex_path(dir, l2a::ANNEX_MSK),
            p.annex_path(dir, l2a::ANNEX_QLT),
        ];
        let mut cld = raster::create_geotiff(&paths[0], &spec(1, SampleType::U8, &["CLD"])?, &[])?;
        let mut msk = raster::create_geotiff(&paths[1], &spec(1, SampleType::U8, &["MSK"])?, &[])?;
        let qlt_spec = spec(3, SampleType::U16, &l2a::QLT_BANDS)?;
        let mut qlt = raster::create_geotiff(&paths[2], &qlt_spec, &[])?;
        // native bits set where the MUSCATE bits of a (native, MUSCATE) table are
        let native = |v: u8, table: &[(u8, u8)]| {
            table
                .iter()
                .filter(|&&(_, m)| v & m != 0)
                .fold(0u8, |acc, &(n, _)| acc | n)
        };
        let clm_table: Vec<(u8, u8)> = CLM_FROM_CLD.to_vec();
        let mg2_table: Vec<(u8, u8)> = MG2_FROM_NATIVE
            .iter()
            .filter(|t| t.0 != 0)
            .map(|&(n, _, m)| (n, m))
            .collect();
        for row in (0..size.1).step_by(ROWS) {
            let (at, wh) = ((0, row), (size.0, ROWS.min(size.1 - row)));
            let read8 = |ds: &gdal::Dataset| raster::read_window::<u8>(ds, 1, at, wh);
            let read16 = |ds: &gdal::Dataset| raster::read_window::<u16>(ds, 1, at, wh);
            let (c, g, e, i) = (read8(&clm)?, read8(&mg2)?, read8(&edg)?, read8(&iab)?);
            let cld_rows: Vec<u8> = c.iter().map(|&v| native(v, &clm_table)).collect();
            let msk_rows: Vec<u8> = g.iter().map(|&v| native(v, &mg2_table)).collect();
            let oth: Vec<u16> = e
                .iter()
                .zip(&i)
                .map(|(&e, &i)| {
                    let interpolated = IAB_FROM_OTH
                        .iter()
                        .filter(|&&(_, m)| i & m != 0)
                        .fold(0, |acc, &(n, _)| acc | n);
                    interpolated | if e & 1 != 0 { l2a::bits::OTH_EDG } else { 0 }
                })
                .collect();
            raster::write_window(&mut cld, 1, at, wh, &cld_rows)?;
            raster::write_window(&mut msk, 1, at, wh, &msk_rows)?;
            raster::write_window(&mut qlt, l2a::QLT_SAT_BAND, at, wh, &read16(&sat)?)?;
            raster::write_window(&mut qlt, l2a::QLT_PIX_BAND, at, wh, &read16(&pix)?)?;
            raster::write_window(&mut qlt, l2a::QLT_OTH_BAND, at, wh, &oth)?;
        }
        for (ds, path) in [cld, msk, qlt].into_iter().zip(&paths) {
            raster::finish(ds, path)?;
        }
        Ok(())
    }

    /// A `SPECIAL_VALUE` of the metadata, by name (case-insensitive).
    fn special(&self, name: &str) -> Option<f64> {
        self.mtd
            .special_values
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.trim().parse::<f64>().ok())
    }

    /// The SOL and VIE annexes of the view from the angle grids of `MTD_ALL.xml`.
    fn write_grids(&self, site: &SiteHeader, sol: &Path, vie_path: &Path) -> Result<()> {
        let (gl, gc) = site.angle_grid_shape();
        let step = site.angle_grid_step_m;
        let mut spec = RasterSpec::new(gc, gl, 2, SampleType::F32);
        spec.geo_transform = [
            site.ulx - step / 2.0,
            step,
            0.0,
            site.uly + step / 2.0,
            0.0,
            -step,
        ];
        spec.srs_wkt = raster::srs_wkt_from_epsg(site.epsg)?;
        spec.nodata = Some(f64::NAN);
        let planes = |g: &AngleGrids| -> Result<[Vec<f32>; 2]> {
            let rows = (&g.zenith.rows, &g.azimuth.rows);
            if rows.0.len() != gl
                || rows.1.len() != gl
                || rows.0.iter().chain(rows.1).any(|r| r.len() != gc)
                || g.zenith.col_step_m != step
                || g.zenith.row_step_m != step
            {
                return Err(self.bad(format!(
                    "an angle grid is not {gl} × {gc} nodes {step} m apart, as the image \
                     ({} × {} pixels of {} m) needs",
                    site.lines, site.cols, site.pixel_m
                )));
            }
            let (mut dx, mut dy) = (Vec::with_capacity(gl * gc), Vec::with_capacity(gl * gc));
            for (zr, ar) in rows.0.iter().zip(rows.1) {
                for (&z, &a) in zr.iter().zip(ar) {
                    let (x, y) = if z.is_nan() || a.is_nan() {
                        (f64::NAN, f64::NAN)
                    } else {
                        angles_to_grid(z, a)
                    };
                    dx.push(x as f32);
                    dy.push(y as f32);
                }
            }
            Ok([dx, dy])
        };
        let sun = self
            .mtd
            .sun_grids
            .as_ref()
            .ok_or_else(|| self.bad("MTD_ALL.xml has no Sun_Angles_Grid"))?;
        spec.band_descriptions = l1c::SOL_PLANES.iter().map(|s| s.to_string()).collect();
        write_planes(sol, &spec, &planes(sun)?)?;
        let mut vie = Vec::with_capacity(8);
        for (d, code) in l1c::VIE_BANDS.iter().enumerate() {
            let g = self
                .mtd
                .view_grids
                .iter()
                .find(|v| v.detector_id.trim_start_matches('0') == (d + 1).to_string())
                .ok_or_else(|| {
                    self.bad(format!(
                        "MTD_ALL.xml has no viewing angle grids of detector {} ({code})",
                        d + 1
                    ))
                })?;
            vie.extend(planes(&g.grids)?);
        }
        spec.bands = vie.len();
        spec.band_descriptions = L1c::vie_planes();
        write_planes(vie_path, &spec, &vie)
    }
}

/// A VRT at `dest` whose band k is the first band of `sources[k]` (each `size` pixels).
fn stack(sources: &[PathBuf], dest: &Path, size: (usize, usize)) -> Result<()> {
    let datasets = sources
        .iter()
        .map(|p| raster::expect_shape(p, size, 1))
        .collect::<Result<Vec<_>>>()?;
    let options = gdal::programs::raster::BuildVRTOptions::new(vec!["-separate".to_string()])
        .map_err(|e| VipError::Internal(format!("gdalbuildvrt options: {e}")))?;
    let ds = gdal::programs::raster::build_vrt(Some(dest), &datasets, Some(options))
        .map_err(|e| VipError::output(dest, format!("cannot build the VRT: {e}")))?;
    drop(ds);
    Ok(())
}

fn write_planes(path: &Path, spec: &RasterSpec, planes: &[Vec<f32>]) -> Result<()> {
    let mut ds = raster::create_geotiff(path, spec, &[])?;
    for (i, p) in planes.iter().enumerate() {
        raster::write_window(&mut ds, i + 1, (0, 0), (spec.width, spec.height), p)?;
    }
    raster::finish(ds, path)
}

/// A product given on the command line, as the native global header the product models
/// open: the header itself, or the header of a MUSCATE product's native view, built in a
/// temporary folder that lives as long as this value.
#[derive(Debug)]
pub struct Input {
    /// The native global header to open.
    pub hdr: PathBuf,
    /// What was given.
    pub given: PathBuf,
    _view: Option<tempfile::TempDir>,
}

impl Input {
    /// `path` as a native header, or the native view of the MUSCATE product at `path` when it
    /// is one ([`is_muscate`]), of one of `levels`.
    pub fn open(path: &Path, levels: &[&str]) -> Result<Input> {
        if !is_muscate(path) {
            return Ok(Input {
                hdr: path.to_path_buf(),
                given: path.to_path_buf(),
                _view: None,
            });
        }
        let m = Muscate::open(path, levels)?;
        let tmp = tempfile::Builder::new()
            .prefix("vip-muscate-")
            .tempdir()
            .map_err(|e| VipError::output_io(std::env::temp_dir(), &e))?;
        let hdr = match m.mtd.level.as_str() {
            "L1C" => m.l1c_view(tmp.path())?,
            "L2A" => m.l2a_view(tmp.path())?,
            other => {
                return Err(m.bad(format!(
                    "MUSCATE {other} products are not read (L1C and L2A are)"
                )))
            }
        };
        log::info!(
            "{}: MUSCATE {} read as {}",
            path.display(),
            m.mtd.level,
            hdr.file_name().unwrap_or_default().to_string_lossy()
        );
        Ok(Input {
            hdr,
            given: path.to_path_buf(),
            _view: Some(tmp),
        })
    }
}
