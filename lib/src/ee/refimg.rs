//! The geometric reference image of a site (`AUX_REFIMG`): an orthorectified one-band image
//! that the L1 refinement correlates its images against.
//!
//! The ICD names the file `VE_<class>_AUX_REFIMG_<UL point>_<LR point>_<vvvv>` (the WGS 84
//! bounding box, points written `E03541N3318`: degrees and hundredths) and asks its data
//! block for "one image file of one single band, the associated Euclide geometrical model,
//! if needed the corresponding cloud mask". VIP's data block: one GeoTIFF
//! (`<id>.DBL.DIR/<id>_IMG.TIF`, reflectance × 1000 in int16, −10000 no data), whose
//! georeferencing (a projected CRS with an EPSG code and a north-up geotransform) is the
//! geometric model. The sites it serves are listed by their site definition ids.

use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;

use super::header::{open_validity, EeDoc, FixedHeader, Layout};
use super::naming;
use super::xml::Node;
use crate::error::{Result, VipError};
use crate::geometry::lonlat::MapToLonLat;
use crate::raster;

const FILE_TYPE: &str = "AUX_REFIMG";

/// A reference image found and checked.
#[derive(Debug, Clone)]
pub struct RefImg {
    /// Logical id (the header's name without extension).
    pub id: String,
    pub hdr: PathBuf,
    /// The GeoTIFF.
    pub image: PathBuf,
    /// Nick names of the sites it serves.
    pub sites: Vec<String>,
}

/// A bounding-box point of the file name: `E03541N3318` (degrees and hundredths), rounded
/// outwards (`up` rounds longitude and latitude up).
fn point(lon: f64, lat: f64, up: (bool, bool)) -> String {
    let hundredths = |v: f64, up: bool| {
        let h = v.abs() * 100.0;
        // outwards: away from the box's inside on each axis
        let h = if up == (v >= 0.0) {
            h.ceil()
        } else {
            h.floor()
        };
        h as u32
    };
    let (x, y) = (hundredths(lon, up.0), hundredths(lat, up.1));
    format!(
        "{}{:03}{:02}{}{:02}{:02}",
        if lon < 0.0 { 'W' } else { 'E' },
        x / 100,
        x % 100,
        if lat < 0.0 { 'S' } else { 'N' },
        y / 100,
        y % 100
    )
}

/// Writes the REFIMG of the sites `nicks` in `dir`: the header and its data block, into which
/// `image` (a GeoTIFF as the module says) is moved. Returns the header's path.
pub fn write_refimg(
    dir: &Path,
    class: &str,
    nicks: &[String],
    image: &Path,
    creation: NaiveDateTime,
) -> Result<PathBuf> {
    let class = naming::file_class(class)?;
    let ds = raster::open(image)?;
    let (cols, lines) = ds.raster_size();
    let gt = raster::geo_transform(&ds)?;
    let epsg = raster::epsg(&ds)
        .ok_or_else(|| VipError::Internal(format!("{}: no EPSG code", image.display())))?;
    drop(ds);
    let to_lonlat = MapToLonLat::new(epsg)?;
    let (mut lon0, mut lat0, mut lon1, mut lat1) = (f64::MAX, f64::MIN, f64::MIN, f64::MAX);
    for (c, l) in [(0, 0), (cols, 0), (0, lines), (cols, lines)] {
        let x = gt[0] + c as f64 * gt[1];
        let y = gt[3] + l as f64 * gt[5];
        let (lon, lat) = to_lonlat.lonlat(x, y)?;
        (lon0, lat0) = (lon0.min(lon), lat0.max(lat));
        (lon1, lat1) = (lon1.max(lon), lat1.min(lat));
    }
    let (ul, lr) = (
        point(lon0, lat0, (false, true)),
        point(lon1, lat1, (true, false)),
    );
    let id = format!("VE_{class}_{FILE_TYPE}_{ul}_{lr}_0001");
    let dbl = format!("{id}.DBL.DIR");
    let tif = format!("{id}_IMG.TIF");
    let geo = |name: &str, lon: f64, lat: f64| {
        Node::new(name)
            .child(Node::text("Long", super::xml::dec(lon, 6)).attr("unit", "deg"))
            .child(Node::text("Lat", super::xml::dec(lat, 6)).attr("unit", "deg"))
    };
    let sites = nicks
        .iter()
        .enumerate()
        .map(|(i, nick)| {
            Ok(Node::text(
                "Applicable_SiteDefinition_Id",
                naming::site_definition_id(&class, 'S', nick)?,
            )
            .attr("sn", i + 1))
        })
        .collect::<Result<Vec<_>>>()?;
    let specific = Node::new("Specific_Product_Header")
        .child(
            Node::new("Instance_Id")
                .child(geo("Upper_Left_Point", lon0, lat0))
                .child(geo("Lower_Right_Point", lon1, lat1))
                .child(Node::text("File_Version", "0001")),
        )
        .child(Node::list("List_of_Applicable_SiteDefinition_Ids", sites))
        .child(
            Node::new("Reference_Image_Information").child(
                Node::new("Size")
                    .child(Node::text("Lines", lines))
                    .child(Node::text("Columns", cols)),
            ),
        )
        .child(Node::new("DBL_Organization").child(Node::list(
            "List_of_Packaged_DBL_Files",
            vec![Node::new("Packaged_DBL_File")
                    .attr("sn", 1)
                    .child(Node::text("Relative_File_Path", format!("{dbl}/{tif}")))
                    .child(Node::text("File_Format", "GEOTIFF int16"))
                    .child(Node::text(
                        "File_Definition",
                        "IMG: reflectance x 1000, -10000 no data; its georeferencing is the \
                         geometric model",
                    ))],
        )));
    let doc = EeDoc {
        layout: Layout::Header,
        xsi_type: "REFIMG_Header_Type".into(),
        schema_version: "0.40".into(),
        fixed: FixedHeader::by_vip(
            &id,
            "ReferenceImageData",
            &class,
            FILE_TYPE,
            open_validity(creation.date()),
            creation,
        ),
        extensions: vec![],
        specific,
        data_block: None,
    };
    raster::ensure_dir(&dir.join(&dbl))?;
    let dest = dir.join(&dbl).join(&tif);
    std::fs::rename(image, &dest).map_err(|e| VipError::output_io(&dest, &e))?;
    let hdr = dir.join(format!("{id}.HDR"));
    doc.write(&hdr)?;
    Ok(hdr)
}

/// Reads a REFIMG header and checks its image: present, of the announced size, with a
/// projected CRS given by an EPSG code. Bad input naming the file otherwise.
pub fn read_refimg(hdr: &Path) -> Result<RefImg> {
    let doc = EeDoc::read(hdr)?;
    doc.expect_type(FILE_TYPE, hdr)?;
    let sp = &doc.specific;
    let rel = sp
        .find("DBL_Organization/List_of_Packaged_DBL_Files")
        .and_then(|l| l.all("Packaged_DBL_File").next())
        .and_then(|f| f.find_text("Relative_File_Path"))
        .ok_or_else(|| VipError::bad_input(hdr, "its DBL_Organization lists no image"))?;
    let image = hdr.parent().unwrap_or(Path::new(".")).join(rel.trim());
    let size = |what: &str| {
        sp.find_text(&format!("Reference_Image_Information/Size/{what}"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .ok_or_else(|| VipError::bad_input(hdr, format!("no Size/{what}")))
    };
    let (lines, cols) = (size("Lines")?, size("Columns")?);
    let ds = raster::expect_shape(&image, (cols, lines), 1)?;
    if raster::epsg(&ds).is_none() || raster::projected_in_metres(&ds) != Some(true) {
        return Err(VipError::bad_input(
            &image,
            "not in a projected CRS in metres with an EPSG code",
        ));
    }
    let sites = sp
        .find("List_of_Applicable_SiteDefinition_Ids")
        .map(|l| {
            l.all("Applicable_SiteDefinition_Id")
                .filter_map(|n| naming::site_definition_nick(n.text.trim()).map(String::from))
                .collect()
        })
        .unwrap_or_default();
    Ok(RefImg {
        id: doc.fixed.file_name.clone(),
        hdr: hdr.to_path_buf(),
        image,
        sites,
    })
}

/// The reference image of site `nick` in `dir`: among the REFIMG headers there that list the
/// site, the one of highest version (then last by name). None if none lists it.
pub fn find_refimg(dir: &Path, nick: &str) -> Result<Option<RefImg>> {
    let mut found = super::header::headers_in(dir, "_AUX_REFIMG_")?;
    // the version is the name's last field: sorting by name sorts by version per box
    found.sort_by_key(|p| {
        let stem = naming::strip_extension(&p.to_string_lossy()).to_string();
        (stem.rsplit('_').next().unwrap_or("").to_string(), stem)
    });
    let mut best = None;
    for hdr in found {
        let r = read_refimg(&hdr)?;
        if r.sites.iter().any(|s| s == nick) {
            best = Some(r);
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raster::{RasterSpec, SampleType};

    #[test]
    fn points_round_outwards() {
        assert_eq!(point(35.412, 33.181, (false, true)), "E03541N3319");
        assert_eq!(point(35.632, 32.741, (true, false)), "E03564N3274");
        assert_eq!(point(-0.5, -12.345, (false, true)), "W00050S1234");
    }

    #[test]
    fn written_header_validates_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let tif = dir.path().join("ref.tif");
        let mut spec = RasterSpec::new(40, 30, 1, SampleType::I16);
        spec.geo_transform = [700_000.0, 5.0, 0.0, 3_600_000.0, 0.0, -5.0];
        spec.srs_wkt = raster::srs_wkt_from_epsg(32636).unwrap();
        let ds = raster::create_geotiff(&tif, &spec, &[]).unwrap();
        drop(ds);
        let t = chrono::NaiveDate::from_ymd_opt(2024, 6, 15)
            .unwrap()
            .and_hms_opt(8, 0, 0)
            .unwrap();
        let hdr = write_refimg(dir.path(), "TEST", &["ISRAEL03".into()], &tif, t).unwrap();
        let name = hdr.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with("VE_TEST_AUX_REFIMG_E03"), "{name}");
        if let Err(e) = super::super::schema::validate(&hdr) {
            panic!("{e}");
        }
        let r = find_refimg(dir.path(), "ISRAEL03").unwrap().unwrap();
        assert_eq!(r.sites, ["ISRAEL03"]);
        assert!(r.image.is_file());
        assert!(find_refimg(dir.path(), "CAMARGUE").unwrap().is_none());
    }
}
