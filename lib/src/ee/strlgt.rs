//! GIP_STRLGT: the stray-light filters of one band (ICD-DIGEST §5.3), a `.HDR` with the filter
//! arrays as float32 TIFF files in its `.DBL.DIR`.
//!
//! - Type 1 (in-band): a kernel per range of detector columns (vertical strips of the raw image),
//!   with an overlap margin (columns read on each side of a strip when convolving).
//! - Type 2 (cross-talk, at most 2): a source band, its kernel, and per vertical strip of the
//!   target a factor and a horizontal shift of the filtered source.
//!
//! Which of the two a correction removes comes from the RADIOV GIPP's `Correction_Scenario`
//! ([`read_correction_scenario`]).

use std::path::{Path, PathBuf};

use super::gipps::{self, child, inst_band, items, text_int, text_num, GippCommon, Kind};
use super::{EeDoc, Layout, Node};
use crate::error::{Result, VipError};
use crate::mission::venus::DETECTORS;
use crate::raster::{self, RasterSpec, SampleType};

const STRLGT: Kind = Kind {
    gipp_type: "STRLGT",
    description: "StrayLightFilters",
    schema_version: "1.3",
};

/// A 2-D filter (rows × cols, row-major), centred on its middle sample (sizes are odd).
#[derive(Debug, Clone, PartialEq)]
pub struct Kernel {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl Kernel {
    /// Sum of the weights: the fraction of the signal the filter spreads.
    pub fn energy(&self) -> f64 {
        self.data.iter().map(|&v| f64::from(v)).sum()
    }

    /// Sum of the absolute weights (bounds the norm of the convolution).
    pub fn l1_norm(&self) -> f64 {
        self.data.iter().map(|&v| f64::from(v).abs()).sum()
    }
}

/// A range of detector columns, 0-based, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColRange {
    pub first: usize,
    pub last: usize,
}

/// An in-band filter and the columns it applies to.
#[derive(Debug, Clone, PartialEq)]
pub struct Type1Filter {
    pub cols: ColRange,
    pub kernel: Kernel,
}

/// Factor and horizontal shift of a cross-talk source over a range of target columns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Type2Strip {
    pub cols: ColRange,
    pub factor: f64,
    /// Columns: the target at column j receives the filtered source at column j − shift.
    pub shift: i64,
}

/// A cross-talk contribution from `source` into the band.
#[derive(Debug, Clone, PartialEq)]
pub struct Type2Filter {
    pub source: String,
    pub kernel: Kernel,
    pub overlap: usize,
    pub strips: Vec<Type2Strip>,
}

/// The stray-light filters of one band.
#[derive(Debug, Clone, PartialEq)]
pub struct StrayLightFilters {
    pub band: String,
    pub type1_overlap: usize,
    pub type1: Vec<Type1Filter>,
    pub type2: Vec<Type2Filter>,
}

fn filter_array(k: &Kernel, def: &str) -> Node {
    Node::new("Filter_Array")
        .child(Node::text("Filter_Type", "SPATIAL"))
        .child(Node::text("Nb_of_Rows", k.rows))
        .child(Node::text("Nb_of_Cols", k.cols))
        .child(Node::text("File_Definition", def))
}

fn col_range(c: ColRange) -> Node {
    Node::new("Col_Range")
        .child(Node::text("First", c.first))
        .child(Node::text("Last", c.last))
}

fn type1_name(i: usize) -> String {
    format!("T1_STRIP_{:04}", i + 1)
}

fn type2_name(source: &str) -> String {
    format!("T2_FROM_{source}")
}

/// Writes the STRLGT GIPP of `f` into `dir`: the header and its `.DBL.DIR` of filters.
pub fn write_strlgt(common: &GippCommon, f: &StrayLightFilters, dir: &Path) -> Result<PathBuf> {
    check(f, Path::new(&f.band)).map_err(|e| VipError::Internal(e.to_string()))?;
    let mut doc: EeDoc = common.doc(&STRLGT, Some(&f.band), None, Node::new("Data_Block"))?;
    let id = doc.fixed.file_name.clone();
    let dbl = format!("{id}.DBL.DIR");
    let mut files: Vec<(String, &Kernel)> = f
        .type1
        .iter()
        .enumerate()
        .map(|(i, t)| (type1_name(i), &t.kernel))
        .collect();
    files.extend(f.type2.iter().map(|t| (type2_name(&t.source), &t.kernel)));
    let packaged = files
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            Node::new("Packaged_DBL_File")
                .attr("sn", i + 1)
                .child(Node::text(
                    "Relative_File_Path",
                    format!("{dbl}/{name}.TIF"),
                ))
                .child(Node::text("File_Format", "TIFF float32"))
                .child(Node::text("File_Definition", name))
        })
        .collect();
    let type1 = Node::new("Type1_Correction")
        .child(Node::text("Overlap_Margin", f.type1_overlap))
        .child(Node::list(
            "Type1_Filters",
            f.type1
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    Node::new("Type1_Filter")
                        .attr("sn", i + 1)
                        .child(col_range(t.cols))
                        .child(filter_array(&t.kernel, &type1_name(i)))
                })
                .collect(),
        ));
    let type2 = Node::new("Type2_Correction").child(Node::list(
        "Type2_Filters",
        f.type2
            .iter()
            .enumerate()
            .map(|(i, t)| {
                Node::new("Type2_Filter")
                    .attr("sn", i + 1)
                    .child(Node::text("CrossTalk_Source_Band", &t.source))
                    .child(filter_array(&t.kernel, &type2_name(&t.source)))
                    .child(Node::text("Overlap_Margin", t.overlap))
                    .child(Node::list(
                        "Type2_Vertical_Strips",
                        t.strips
                            .iter()
                            .enumerate()
                            .map(|(k, s)| {
                                Node::new("Type2_Vertical_Strip")
                                    .attr("sn", k + 1)
                                    .child(col_range(s.cols))
                                    .child(Node::text("Filter_Factor", gipps::num(s.factor)))
                                    .child(Node::text("Horizontal_Shift", s.shift))
                            })
                            .collect(),
                    ))
            })
            .collect(),
    ));
    // Schema order: Instance_Id, DBL_Organization, site list, Correction_Parameters.
    let mut children = std::mem::take(&mut doc.specific.children);
    children.insert(
        1,
        Node::new("DBL_Organization").child(Node::list("List_of_Packaged_DBL_Files", packaged)),
    );
    children.push(Node::new("Correction_Parameters").child(type1).child(type2));
    doc.specific.children = children;
    doc.layout = Layout::Header;
    doc.xsi_type = "STRLGT_Header_Type".into();
    doc.data_block = None;

    raster::ensure_dir(&dir.join(&dbl))?;
    for (name, k) in &files {
        let path = dir.join(&dbl).join(format!("{name}.TIF"));
        let spec = RasterSpec::new(k.cols, k.rows, 1, SampleType::F32);
        let mut ds = raster::create_geotiff(&path, &spec, &[])?;
        raster::write_window(&mut ds, 1, (0, 0), (k.cols, k.rows), &k.data)?;
        raster::finish(ds, &path)?;
    }
    let hdr = dir.join(format!("{id}.HDR"));
    doc.write(&hdr)?;
    Ok(hdr)
}

/// Reads a STRLGT GIPP and its filters; anything inconsistent is a bad input naming the file.
pub fn read_strlgt(path: &Path) -> Result<StrayLightFilters> {
    let doc = super::gipp::read_gipp(path, "GIP_STRLGT")?;
    let band = inst_band(&doc, path)?;
    let sp = &doc.specific;
    let files: std::collections::HashMap<String, PathBuf> =
        gipps::packaged_files(sp, path)?.into_iter().collect();
    let kernel = |fa: &Node| -> Result<Kernel> {
        let def = child(fa, "File_Definition", path)?.text.trim().to_string();
        let rows: usize = text_int(fa, "Nb_of_Rows", path)?;
        let cols: usize = text_int(fa, "Nb_of_Cols", path)?;
        let file = files.get(&def).ok_or_else(|| {
            VipError::bad_input(path, format!("filter {def} is not in DBL_Organization"))
        })?;
        read_kernel(file, rows, cols)
    };
    let cp = child(sp, "Correction_Parameters", path)?;
    let t1 = child(cp, "Type1_Correction", path)?;
    let type1 = items(t1, "Type1_Filters", "Type1_Filter", None, path)?
        .into_iter()
        .map(|f| {
            Ok(Type1Filter {
                cols: read_range(child(f, "Col_Range", path)?, path)?,
                kernel: kernel(child(f, "Filter_Array", path)?)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let type2 = match cp.get("Type2_Correction") {
        None => vec![],
        Some(t2) => items(t2, "Type2_Filters", "Type2_Filter", None, path)?
            .into_iter()
            .map(|f| {
                let strips = items(
                    f,
                    "Type2_Vertical_Strips",
                    "Type2_Vertical_Strip",
                    None,
                    path,
                )?
                .into_iter()
                .map(|s| {
                    Ok(Type2Strip {
                        cols: read_range(child(s, "Col_Range", path)?, path)?,
                        factor: text_num(s, "Filter_Factor", path)?,
                        shift: text_int(s, "Horizontal_Shift", path)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
                Ok(Type2Filter {
                    source: child(f, "CrossTalk_Source_Band", path)?
                        .text
                        .trim()
                        .to_string(),
                    kernel: kernel(child(f, "Filter_Array", path)?)?,
                    overlap: text_int(f, "Overlap_Margin", path)?,
                    strips,
                })
            })
            .collect::<Result<Vec<_>>>()?,
    };
    let f = StrayLightFilters {
        band,
        type1_overlap: text_int(t1, "Overlap_Margin", path)?,
        type1,
        type2,
    };
    check(&f, path)?;
    Ok(f)
}

/// The stray terms a correction removes (RADIOV `Correction_Scenario`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// `TYPE1`: in-band stray light only.
    Type1,
    /// `TYPE2`: cross-talk only.
    Type2,
    /// `TYPE1_TYPE2`: both, the model's sum inverted as one.
    Both,
}

/// Reads `Correction_Scenario` from a RADIOV GIPP. `TYPE2_TYPE1` (cross-talk removed first,
/// then the in-band term computed from that image) is refused: the correction inverts the
/// sum of both terms at once, which leaves no order to choose.
pub fn read_correction_scenario(path: &Path) -> Result<Scenario> {
    let doc = super::gipp::read_gipp(path, "GIP_RADIOV")?;
    let data = doc
        .data_block
        .as_ref()
        .ok_or_else(|| VipError::bad_input(path, "no Data_Block"))?;
    let params = child(data, "Straylight_Correction_Parameters", path)?;
    match child(params, "Correction_Scenario", path)?.text.trim() {
        "TYPE1" => Ok(Scenario::Type1),
        "TYPE2" => Ok(Scenario::Type2),
        "TYPE1_TYPE2" => Ok(Scenario::Both),
        "TYPE2_TYPE1" => Err(VipError::bad_input(
            path,
            "Correction_Scenario TYPE2_TYPE1 is not supported: both terms are inverted together, as TYPE1_TYPE2",
        )),
        other => Err(VipError::bad_input(
            path,
            format!("Correction_Scenario '{other}' is not TYPE1, TYPE2, TYPE1_TYPE2 or TYPE2_TYPE1"),
        )),
    }
}

fn read_range(n: &Node, path: &Path) -> Result<ColRange> {
    Ok(ColRange {
        first: text_int(n, "First", path)?,
        last: text_int(n, "Last", path)?,
    })
}

fn read_kernel(file: &Path, rows: usize, cols: usize) -> Result<Kernel> {
    let ds = raster::open(file)?;
    if ds.raster_size() != (cols, rows) {
        let (c, r) = ds.raster_size();
        return Err(VipError::bad_input(
            file,
            format!("filter is {r} × {c}, the header says {rows} × {cols}"),
        ));
    }
    let data: Vec<f32> = raster::read_window(&ds, 1, (0, 0), (cols, rows))?;
    if let Some(i) = data.iter().position(|v| !v.is_finite()) {
        return Err(VipError::bad_input(
            file,
            format!(
                "filter value at row {}, column {} is not a number",
                i / cols,
                i % cols
            ),
        ));
    }
    if rows.is_multiple_of(2) || cols.is_multiple_of(2) {
        return Err(VipError::bad_input(
            file,
            format!("filter is {rows} × {cols}: sizes must be odd"),
        ));
    }
    Ok(Kernel { rows, cols, data })
}

/// Column ranges inside the array, in ascending order and not overlapping; at most 2
/// cross-talk sources, none the band itself.
fn check(f: &StrayLightFilters, path: &Path) -> Result<()> {
    let bad = |m: String| VipError::bad_input(path, m);
    let ranges = |what: &str, rs: Vec<ColRange>| -> Result<()> {
        let mut prev: Option<ColRange> = None;
        for r in rs {
            if r.first > r.last || r.last >= DETECTORS {
                return Err(bad(format!(
                    "{what} column range {}..{} is outside 0..{}",
                    r.first,
                    r.last,
                    DETECTORS - 1
                )));
            }
            if let Some(p) = prev {
                if r.first <= p.last {
                    return Err(bad(format!(
                        "{what} column ranges {}..{} and {}..{} overlap or are out of order",
                        p.first, p.last, r.first, r.last
                    )));
                }
            }
            prev = Some(r);
        }
        Ok(())
    };
    ranges("type 1", f.type1.iter().map(|t| t.cols).collect())?;
    if f.type2.len() > 2 {
        return Err(bad(format!(
            "{} cross-talk sources, at most 2",
            f.type2.len()
        )));
    }
    for t in &f.type2 {
        gipps::check_band(&t.source)
            .map_err(|_| bad(format!("cross-talk source '{}' is not a band", t.source)))?;
        if t.source == f.band {
            return Err(bad(format!(
                "band {} cannot be its own cross-talk source",
                f.band
            )));
        }
        ranges(
            &format!("cross-talk from {}", t.source),
            t.strips.iter().map(|s| s.cols).collect(),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ee::gipp::Applicability;
    use crate::ee::header::open_validity;

    fn kernel(n: usize, scale: f32) -> Kernel {
        Kernel {
            rows: n,
            cols: n,
            data: (0..n * n).map(|i| scale * (1.0 + (i % 7) as f32)).collect(),
        }
    }

    fn filters() -> StrayLightFilters {
        StrayLightFilters {
            band: "B05".into(),
            type1_overlap: 16,
            type1: vec![
                Type1Filter {
                    cols: ColRange {
                        first: 0,
                        last: 2599,
                    },
                    kernel: kernel(9, 1e-4),
                },
                Type1Filter {
                    cols: ColRange {
                        first: 2600,
                        last: 5199,
                    },
                    kernel: kernel(9, 2e-4),
                },
            ],
            type2: vec![Type2Filter {
                source: "B07".into(),
                kernel: kernel(5, 0.04),
                overlap: 8,
                strips: vec![Type2Strip {
                    cols: ColRange {
                        first: 0,
                        last: 5199,
                    },
                    factor: 0.0125,
                    shift: -3,
                }],
            }],
        }
    }

    fn common() -> GippCommon {
        let d = chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        GippCommon::new("TEST", Applicability::AllSites, open_validity(d)).unwrap()
    }

    #[test]
    fn writes_valid_gipps_that_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let hdr = write_strlgt(&common(), &filters(), dir.path()).unwrap();
        crate::ee::schema::validate_all(&[&hdr]).unwrap();
        assert_eq!(read_strlgt(&hdr).unwrap(), filters());
    }

    #[test]
    fn bad_filters_are_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let hdr = write_strlgt(&common(), &filters(), dir.path()).unwrap();
        // NaN in a filter.
        let tif = std::fs::read_dir(hdr.with_extension("DBL.DIR"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let mut k = kernel(9, 1e-4);
        k.data[40] = f32::NAN;
        let spec = RasterSpec::new(9, 9, 1, SampleType::F32);
        let mut ds = raster::create_geotiff(&tif, &spec, &[]).unwrap();
        raster::write_window(&mut ds, 1, (0, 0), (9, 9), &k.data).unwrap();
        raster::finish(ds, &tif).unwrap();
        let e = read_strlgt(&hdr).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(
            e.to_string().contains("row 4, column 4 is not a number"),
            "{e}"
        );
        // Overlapping or out-of-bounds ranges.
        let text = std::fs::read_to_string(&hdr).unwrap();
        for (from, to, needle) in [
            ("<First>2600</First>", "<First>2500</First>", "overlap"),
            ("<Last>5199</Last>\n              </Col_Range>\n              <Filter_Array>\n                <Filter_Type>SPATIAL</Filter_Type>\n                <Nb_of_Rows>9", "<Last>5300</Last>\n              </Col_Range>\n              <Filter_Array>\n                <Filter_Type>SPATIAL</Filter_Type>\n                <Nb_of_Rows>9", "outside"),
        ] {
            let dir2 = tempfile::tempdir().unwrap();
            let hdr2 = write_strlgt(&common(), &filters(), dir2.path()).unwrap();
            let changed = text.replacen(from, to, 1);
            assert_ne!(changed, text, "{needle}: pattern not found");
            std::fs::write(&hdr2, changed).unwrap();
            let e = read_strlgt(&hdr2).unwrap_err();
            assert!(e.to_string().contains(needle), "{e}");
        }
    }
}
