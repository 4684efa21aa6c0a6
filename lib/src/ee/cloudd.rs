//! GIP_CLOUDD (cloud detection at L1, ICD-DIGEST §5.4, schema 1.11) and GIP_CKQLTL (quicklook
//! tool, §5.6, schema 1.7): the documents as the schemas order them, written and read back.
//!
//! Readers only check that each element is there and of its type (a missing or malformed one
//! is a bad input naming the file and the element); what the values mean and which ranges are
//! allowed is the business of the process that uses them ([`crate::cloud::stereo`],
//! [`crate::level1`]).

use std::path::Path;

use super::gipp::read_gipp;
use super::gipps::{child, text_int, text_num, GippCommon, Kind};
use super::xml::{dec, num};
use super::{EeDoc, Node};
use crate::error::{Result, VipError};

const CLOUDD: Kind = Kind {
    gipp_type: "CLOUDD",
    description: "CloudDetectionProcess",
    schema_version: "1.11",
};

const CKQLTL: Kind = Kind {
    gipp_type: "CKQLTL",
    description: "QuicklookTool",
    schema_version: "1.7",
};

/// A `Row_Size` × `Col_Size` filter (`CLOUDD_Filter_Size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterSize {
    pub rows: u32,
    pub cols: u32,
}

/// `Final_L1_Dilatation/Process_Choice`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DilationChoice {
    Automatic,
    Fixed,
}

/// The content of a GIP_CLOUDD data block, element by element (names in the comments).
#[derive(Debug, Clone, PartialEq)]
pub struct Cloudd {
    /// Correlation_Parameters/Grid_Line_Sampling_Step, Grid_Column_Sampling_Step.
    pub grid_line_step: u32,
    pub grid_col_step: u32,
    /// Reference_Window_Nb_Of_Lines, Reference_Window_Nb_Of_Columns.
    pub window_lines: i64,
    pub window_cols: i64,
    /// Initial_Resemblance_Threshold, Final_Resemblance_Threshold.
    pub initial_threshold: f64,
    pub final_threshold: f64,
    /// Exploration_Line_Number, Exploration_Column_Number.
    pub exploration_lines: u32,
    pub exploration_cols: u32,
    /// Spline_Order.
    pub spline_order: i64,
    /// Correlation_Filtering.
    pub correlation_filtering: bool,
    /// Cloud_Detection_Parameters/Stereo_Reference_Band_Code, Stereo_Secondary_Band_Code,
    /// Reflectance_Reference_Band_Code.
    pub reference_band: String,
    pub secondary_band: String,
    pub reflectance_band: String,
    /// Disparity_Threshold.
    pub disparity_threshold: f64,
    /// Minimum_Reflectance_Threshold, Maximum_Reflectance_Threshold.
    pub min_reflectance: f64,
    pub max_reflectance: f64,
    /// Reflectance_Threshold_Adjustment_Factor (K_p).
    pub adjustment_factor: f64,
    /// Cloud_Detection_Maximum_Altitude.
    pub max_altitude: f64,
    /// K_Filter.
    pub k_filter: i64,
    /// Cloud_MNT_Margin.
    pub dem_margin: f64,
    /// Periodic_Landscape_Detection_Threshold.
    pub periodic_threshold: f64,
    /// Cloud_Mask_Filtering/Eroding_Filter_Size, Dilating_Filter_Size.
    pub eroding: FilterSize,
    pub dilating: FilterSize,
    /// Final_L1_Dilatation/Process_Choice, Final_Dilating_Filter_Size,
    /// Maximum_Disparity_Eliminated_Percent.
    pub final_dilation: DilationChoice,
    pub final_dilating: FilterSize,
    pub max_disparity_eliminated_percent: f64,
    /// Cloud_Mask_Resampling/Binarization_Threshold.
    pub binarization_threshold: f64,
}

fn filter(name: &str, f: FilterSize) -> Node {
    Node::new(name)
        .child(Node::text("Row_Size", f.rows))
        .child(Node::text("Col_Size", f.cols))
}

fn boolean(v: bool) -> &'static str {
    if v {
        "true"
    } else {
        "false"
    }
}

/// The CLOUDD document of `c`.
pub fn cloudd(common: &GippCommon, c: &Cloudd) -> Result<EeDoc> {
    super::gipps::check_finite(
        "GIP_CLOUDD",
        [
            c.initial_threshold,
            c.final_threshold,
            c.disparity_threshold,
            c.min_reflectance,
            c.max_reflectance,
            c.adjustment_factor,
            c.max_altitude,
            c.dem_margin,
            c.periodic_threshold,
            c.max_disparity_eliminated_percent,
            c.binarization_threshold,
        ],
    )?;
    let correlation = Node::new("Correlation_Parameters")
        .child(Node::text("Grid_Line_Sampling_Step", c.grid_line_step))
        .child(Node::text("Grid_Column_Sampling_Step", c.grid_col_step))
        .child(Node::text("Reference_Window_Nb_Of_Lines", c.window_lines))
        .child(Node::text("Reference_Window_Nb_Of_Columns", c.window_cols))
        .child(Node::text(
            "Initial_Resemblance_Threshold",
            num(c.initial_threshold),
        ))
        .child(Node::text(
            "Final_Resemblance_Threshold",
            num(c.final_threshold),
        ))
        .child(Node::text("Exploration_Line_Number", c.exploration_lines))
        .child(Node::text("Exploration_Column_Number", c.exploration_cols))
        .child(Node::text("Spline_Order", c.spline_order))
        .child(Node::text(
            "Correlation_Filtering",
            boolean(c.correlation_filtering),
        ));
    let detection = Node::new("Cloud_Detection_Parameters")
        .child(Node::text("Stereo_Reference_Band_Code", &c.reference_band))
        .child(Node::text("Stereo_Secondary_Band_Code", &c.secondary_band))
        .child(Node::text(
            "Reflectance_Reference_Band_Code",
            &c.reflectance_band,
        ))
        .child(Node::text(
            "Disparity_Threshold",
            num(c.disparity_threshold),
        ))
        .child(Node::text(
            "Minimum_Reflectance_Threshold",
            num(c.min_reflectance),
        ))
        .child(Node::text(
            "Maximum_Reflectance_Threshold",
            num(c.max_reflectance),
        ))
        .child(Node::text(
            "Reflectance_Threshold_Adjustment_Factor",
            num(c.adjustment_factor),
        ))
        .child(Node::text(
            "Cloud_Detection_Maximum_Altitude",
            num(c.max_altitude),
        ))
        .child(Node::text("K_Filter", c.k_filter))
        .child(Node::text("Cloud_MNT_Margin", num(c.dem_margin)))
        .child(Node::text(
            "Periodic_Landscape_Detection_Threshold",
            num(c.periodic_threshold),
        ));
    let data = Node::new("Data_Block")
        .child(correlation)
        .child(detection)
        .child(
            Node::new("Cloud_Mask_Filtering")
                .child(filter("Eroding_Filter_Size", c.eroding))
                .child(filter("Dilating_Filter_Size", c.dilating)),
        )
        .child(
            Node::new("Final_L1_Dilatation")
                .child(Node::text(
                    "Process_Choice",
                    match c.final_dilation {
                        DilationChoice::Automatic => "AUTOMATIC",
                        DilationChoice::Fixed => "FIXED",
                    },
                ))
                .child(filter("Final_Dilating_Filter_Size", c.final_dilating))
                .child(Node::text(
                    "Maximum_Disparity_Eliminated_Percent",
                    num(c.max_disparity_eliminated_percent),
                )),
        )
        .child(Node::new("Cloud_Mask_Resampling").child(Node::text(
            "Binarization_Threshold",
            num(c.binarization_threshold),
        )));
    common.doc(&CLOUDD, None, None, data)
}

fn data_block<'a>(doc: &'a EeDoc, path: &Path) -> Result<&'a Node> {
    doc.data_block
        .as_ref()
        .ok_or_else(|| VipError::bad_input(path, "no Data_Block"))
}

fn text_bool(n: &Node, p: &str, path: &Path) -> Result<bool> {
    match child(n, p, path)?.text.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        t => Err(VipError::bad_input(
            path,
            format!("{p} '{t}' is neither true nor false"),
        )),
    }
}

fn text_str(n: &Node, p: &str, path: &Path) -> Result<String> {
    Ok(child(n, p, path)?.text.trim().to_string())
}

fn read_filter(n: &Node, p: &str, path: &Path) -> Result<FilterSize> {
    let f = child(n, p, path)?;
    Ok(FilterSize {
        rows: text_int(f, "Row_Size", path)
            .map_err(|_| VipError::bad_input(path, format!("{p}/Row_Size is not a size")))?,
        cols: text_int(f, "Col_Size", path)
            .map_err(|_| VipError::bad_input(path, format!("{p}/Col_Size is not a size")))?,
    })
}

/// Reads a GIP_CLOUDD file.
pub fn read_cloudd(path: &Path) -> Result<Cloudd> {
    let doc = read_gipp(path, "GIP_CLOUDD")?;
    let data = data_block(&doc, path)?;
    let cp = child(data, "Correlation_Parameters", path)?;
    let dp = child(data, "Cloud_Detection_Parameters", path)?;
    let mf = child(data, "Cloud_Mask_Filtering", path)?;
    let fd = child(data, "Final_L1_Dilatation", path)?;
    let mr = child(data, "Cloud_Mask_Resampling", path)?;
    let choice = match text_str(fd, "Process_Choice", path)?.as_str() {
        "AUTOMATIC" => DilationChoice::Automatic,
        "FIXED" => DilationChoice::Fixed,
        t => {
            return Err(VipError::bad_input(
                path,
                format!("Process_Choice '{t}' is neither AUTOMATIC nor FIXED"),
            ))
        }
    };
    Ok(Cloudd {
        grid_line_step: text_int(cp, "Grid_Line_Sampling_Step", path)?,
        grid_col_step: text_int(cp, "Grid_Column_Sampling_Step", path)?,
        window_lines: text_int(cp, "Reference_Window_Nb_Of_Lines", path)?,
        window_cols: text_int(cp, "Reference_Window_Nb_Of_Columns", path)?,
        initial_threshold: text_num(cp, "Initial_Resemblance_Threshold", path)?,
        final_threshold: text_num(cp, "Final_Resemblance_Threshold", path)?,
        exploration_lines: text_int(cp, "Exploration_Line_Number", path)?,
        exploration_cols: text_int(cp, "Exploration_Column_Number", path)?,
        spline_order: text_int(cp, "Spline_Order", path)?,
        correlation_filtering: text_bool(cp, "Correlation_Filtering", path)?,
        reference_band: text_str(dp, "Stereo_Reference_Band_Code", path)?,
        secondary_band: text_str(dp, "Stereo_Secondary_Band_Code", path)?,
        reflectance_band: text_str(dp, "Reflectance_Reference_Band_Code", path)?,
        disparity_threshold: text_num(dp, "Disparity_Threshold", path)?,
        min_reflectance: text_num(dp, "Minimum_Reflectance_Threshold", path)?,
        max_reflectance: text_num(dp, "Maximum_Reflectance_Threshold", path)?,
        adjustment_factor: text_num(dp, "Reflectance_Threshold_Adjustment_Factor", path)?,
        max_altitude: text_num(dp, "Cloud_Detection_Maximum_Altitude", path)?,
        k_filter: text_int(dp, "K_Filter", path)?,
        dem_margin: text_num(dp, "Cloud_MNT_Margin", path)?,
        periodic_threshold: text_num(dp, "Periodic_Landscape_Detection_Threshold", path)?,
        eroding: read_filter(mf, "Eroding_Filter_Size", path)?,
        dilating: read_filter(mf, "Dilating_Filter_Size", path)?,
        final_dilation: choice,
        final_dilating: read_filter(fd, "Final_Dilating_Filter_Size", path)?,
        max_disparity_eliminated_percent: text_num(
            fd,
            "Maximum_Disparity_Eliminated_Percent",
            path,
        )?,
        binarization_threshold: text_num(mr, "Binarization_Threshold", path)?,
    })
}

// ------------------------------------------------------------------------------------------------
// CKQLTL
// ------------------------------------------------------------------------------------------------

/// One quicklook of a level (`L1_QL`; the L2 and L3 entries VIP writes share its bands and
/// stretch).
#[derive(Debug, Clone, PartialEq)]
pub struct Quicklook {
    /// Free_Name, 4-10 characters `[0-9A-Z_]`.
    pub free_name: String,
    /// Method (VIP: `LINEAR`, a linear stretch of each colour between its bounds).
    pub method: String,
    /// UL_Index_X, UL_Index_Y: 1-based column and line of the first pixel of the extract.
    pub ul_x: u32,
    pub ul_y: u32,
    /// Nb_Lines_X, Nb_Lines_Y: columns and lines of the extract (clipped to the image).
    pub nb_x: u32,
    pub nb_y: u32,
    /// QL_Red_Band, QL_Green_Band, QL_Blue_Band.
    pub bands: [String; 3],
    /// (Min_Ref, Max_Ref) of red, green, blue: reflectances, 3 decimals.
    pub stretch: [(f64, f64); 3],
    /// Undersampling_Ratio: image pixels per quicklook pixel along each axis.
    pub undersampling: u32,
}

/// The content of a GIP_CKQLTL data block that VIP uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Ckqltl {
    /// Compute_QL.
    pub compute: bool,
    /// Common_QL_Parameters/Font_Size.
    pub font_size: u32,
    /// L1_List_Of_QL (at least one).
    pub l1: Vec<Quicklook>,
}

fn colour_nodes(q: &Quicklook) -> Vec<Node> {
    let mut v = vec![
        Node::text("QL_Red_Band", &q.bands[0]),
        Node::text("QL_Green_Band", &q.bands[1]),
        Node::text("QL_Blue_Band", &q.bands[2]),
    ];
    for (c, (lo, hi)) in ["Red", "Green", "Blue"].iter().zip(q.stretch) {
        v.push(Node::text(format!("Min_Ref_{c}_Band"), dec(lo, 3)));
        v.push(Node::text(format!("Max_Ref_{c}_Band"), dec(hi, 3)));
    }
    v
}

/// The CKQLTL document of `c`. The schema also asks for L2 and L3 quicklook lists: VIP writes
/// one entry each with the bands and stretch of the first L1 entry (water vapour 0-5 g/cm²,
/// AOT 0-1, 1 to 12 dates).
pub fn ckqltl(common: &GippCommon, c: &Ckqltl) -> Result<EeDoc> {
    let first =
        c.l1.first()
            .ok_or_else(|| VipError::Internal("GIP_CKQLTL without an L1 quicklook".into()))?;
    super::gipps::check_finite(
        "GIP_CKQLTL",
        c.l1.iter()
            .flat_map(|q| q.stretch.iter().flat_map(|s| [s.0, s.1])),
    )?;
    let l1 = Node::list(
        "L1_List_Of_QL",
        c.l1.iter()
            .enumerate()
            .map(|(i, q)| {
                Node::new("L1_QL")
                    .attr("sn", i + 1)
                    .child(Node::text("Free_Name", &q.free_name))
                    .child(Node::text("Method", &q.method))
                    .child(Node::text("UL_Index_X", q.ul_x))
                    .child(Node::text("UL_Index_Y", q.ul_y))
                    .child(Node::text("Nb_Lines_X", q.nb_x))
                    .child(Node::text("Nb_Lines_Y", q.nb_y))
                    .children(colour_nodes(q))
                    .child(Node::text("Undersampling_Ratio", q.undersampling))
            })
            .collect(),
    );
    let l2 = Node::list(
        "L2_List_Of_QL",
        vec![Node::new("L2_QL")
            .attr("sn", 1)
            .child(Node::text("Free_Name", &first.free_name))
            .children(colour_nodes(first))
            .child(Node::text("Min_Water_Vapor", "0"))
            .child(Node::text("Max_Water_Vapor", "5"))
            .child(Node::text("Water_Vapor_Ratio", 1))
            .child(Node::text("Min_AOT", "0"))
            .child(Node::text("Max_AOT", "1"))
            .child(Node::text("AOT_Ratio", 1))
            .child(Node::text("Undersampling_Ratio", first.undersampling))
            .child(Node::text("Color_Pallette", "GREY"))],
    );
    let l3 = Node::list(
        "L3_List_Of_QL",
        vec![Node::new("L3_QL")
            .attr("sn", 1)
            .child(Node::text("Free_Name", &first.free_name))
            .children(colour_nodes(first))
            .child(Node::text("Min_Nb_Date", 1))
            .child(Node::text("Max_Nb_Date", 12))
            .child(Node::text("Undersampling_Ratio", first.undersampling))],
    );
    let data = Node::new("Data_Block")
        .child(Node::text("Compute_QL", boolean(c.compute)))
        .child(Node::new("Common_QL_Parameters").child(Node::text("Font_Size", c.font_size)))
        .child(l1)
        .child(l2)
        .child(l3);
    common.doc(&CKQLTL, None, None, data)
}

/// Reads a GIP_CKQLTL file (its compute flag, font size and L1 quicklooks).
pub fn read_ckqltl(path: &Path) -> Result<Ckqltl> {
    let doc = read_gipp(path, "GIP_CKQLTL")?;
    let data = data_block(&doc, path)?;
    let list = child(data, "L1_List_Of_QL", path)?;
    let mut l1 = Vec::new();
    for q in list.all("L1_QL") {
        let band = |p: &str| text_str(q, p, path);
        let n = |p: &str| text_num(q, p, path);
        let int = |p: &str| -> Result<u32> {
            text_int(q, p, path).map_err(|_| {
                VipError::bad_input(path, format!("L1_QL/{p} is not a positive integer"))
            })
        };
        l1.push(Quicklook {
            free_name: text_str(q, "Free_Name", path)?,
            method: text_str(q, "Method", path)?,
            ul_x: int("UL_Index_X")?,
            ul_y: int("UL_Index_Y")?,
            nb_x: int("Nb_Lines_X")?,
            nb_y: int("Nb_Lines_Y")?,
            bands: [
                band("QL_Red_Band")?,
                band("QL_Green_Band")?,
                band("QL_Blue_Band")?,
            ],
            stretch: [
                (n("Min_Ref_Red_Band")?, n("Max_Ref_Red_Band")?),
                (n("Min_Ref_Green_Band")?, n("Max_Ref_Green_Band")?),
                (n("Min_Ref_Blue_Band")?, n("Max_Ref_Blue_Band")?),
            ],
            undersampling: int("Undersampling_Ratio")?,
        });
    }
    if l1.is_empty() {
        return Err(VipError::bad_input(path, "L1_List_Of_QL holds no L1_QL"));
    }
    Ok(Ckqltl {
        compute: text_bool(data, "Compute_QL", path)?,
        font_size: text_int(data, "Common_QL_Parameters/Font_Size", path).map_err(|_| {
            VipError::bad_input(path, "Common_QL_Parameters/Font_Size is not an integer")
        })?,
        l1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ee::gipp::Applicability;
    use crate::ee::gipps::{tests::common, write_gipp};

    #[test]
    fn vip_defaults_validate_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let c = common(Applicability::AllSites);
        let cloudd_path = write_gipp(
            &cloudd(&c, &crate::cloud::stereo::vip_default()).unwrap(),
            dir.path(),
        )
        .unwrap();
        let ckqltl_path = write_gipp(
            &ckqltl(&c, &crate::level1::quicklook::vip_default()).unwrap(),
            dir.path(),
        )
        .unwrap();
        crate::ee::schema::validate_all(&[&cloudd_path, &ckqltl_path]).unwrap();
        assert_eq!(
            read_cloudd(&cloudd_path).unwrap(),
            crate::cloud::stereo::vip_default()
        );
        assert_eq!(
            read_ckqltl(&ckqltl_path).unwrap(),
            crate::level1::quicklook::vip_default()
        );
        // A missing element is bad input naming it and the file.
        let text = std::fs::read_to_string(&cloudd_path).unwrap();
        std::fs::write(&cloudd_path, text.replace("<K_Filter>3</K_Filter>", "")).unwrap();
        let e = read_cloudd(&cloudd_path).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        let msg = e.to_string();
        assert!(
            msg.contains("K_Filter") && msg.contains(cloudd_path.to_str().unwrap()),
            "{msg}"
        );
    }
}
