//! The L2 parameters a VENµS L2COMM GIPP sets (ICD-DIGEST §5.5), over VIP's defaults.
//!
//! Window sizes in the L2COMM count pixels of the VENµS chain's coarse grid, 100 m; VIP's
//! coarse cells are `Params::coarse_m` wide, so they are converted through metres (the default
//! environment radius of 10 coarse pixels is 1000 m, 4 cells of 240 m).

use std::path::Path;

use super::Params;
use crate::cloud::mask::CloudParams;
use crate::ee::Node;
use crate::error::{Result, VipError};
use crate::mission::venus::BANDS;

/// Pixel of the VENµS L2 chain's coarse grid, metres: the unit of L2COMM window sizes.
pub const L2COMM_COARSE_M: f64 = 100.0;

/// What the L2COMM sets beyond [`Params`]: the ozone the LUTs should have been made with
/// and the aerosol model of every site (`Constant_Model`, the nick name of the LUT GIPPs),
/// when it names one.
#[derive(Debug, Clone, PartialEq)]
pub struct L2Comm {
    pub ozone: f64,
    pub constant_model: Option<String>,
}

/// Reads the L2COMM data block `data` (file `path`) into `p`; every element VIP uses must be
/// there and valid.
pub fn apply(data: &Node, path: &Path, p: &mut Params) -> Result<L2Comm> {
    let bad = |m: String| VipError::bad_input(path, m);
    let text = |q: &str| {
        data.find_text(q)
            .map(str::trim)
            .ok_or_else(|| bad(format!("L2COMM has no {q}")))
    };
    let num = |q: &str| -> Result<f64> {
        let t = text(q)?;
        t.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| bad(format!("{q} '{t}' is not a number")))
    };
    let band = |q: &str, t: &str| -> Result<usize> {
        BANDS
            .iter()
            .position(|b| b.code == t)
            .ok_or_else(|| bad(format!("{q} '{t}' is not a VENµS band")))
    };
    let cells = |q: &str| -> Result<f64> {
        let v = num(q)?;
        if v < 0.0 {
            return Err(bad(format!("{q} {v} is negative")));
        }
        Ok(v * L2COMM_COARSE_M / p.coarse_m)
    };
    let ms = "AOT_Estimation/Multi_Spectral_Method/";
    p.red = band(
        "MS_AOT_Red_Band_Code",
        text(&format!("{ms}MS_AOT_Red_Band_Code"))?,
    )?;
    let ms_bands = text(&format!("{ms}MS_AOT_Band_Code"))?;
    let blue = ms_bands
        .split_whitespace()
        .find(|b| band("MS_AOT_Band_Code", b).ok() != Some(p.red))
        .ok_or_else(|| bad(format!("MS_AOT_Band_Code '{ms_bands}' names no blue band")))?;
    p.blue = band("MS_AOT_Band_Code", blue)?;
    p.nir = band(
        "NDVI_AOT_Band2_Code",
        text(&format!("{ms}NDVI_AOT_Band2_Code"))?,
    )?;
    p.ndvi_min = num(&format!("{ms}NDVI_Threshold"))?;
    p.red_toa_max = num(&format!("{ms}Red_TOA_Threshold"))?;
    p.dark_vegetation.slope = num(&format!("{ms}MS_Slope"))?;
    p.dark_vegetation.intercept = num(&format!("{ms}MS_YIntercept"))?;
    p.default_aot = num("AOT_Estimation/Default_AOT")?;
    p.aot_half_window = cells("AOT_Estimation/Half_Window_Size")?.round() as usize;
    p.aot_sigma = cells("AOT_Estimation/Sigma_Smoothing_AOT")?;
    p.min_cos_i = num("Common_Parameters/Slope_Min_Cos_I")?;
    p.min_cos_ratio = num("Slope_Correction/Min_Cos_Ratio")?;
    let wv = "Atmospheric_Absorption_Correction/";
    p.wv_absorbing = band(
        "Water_Vapor_Band_Code",
        text(&format!("{wv}Water_Vapor_Band_Code"))?,
    )?;
    p.wv_reference = band(
        "Water_Vapor_Reference_Band_Code",
        text(&format!("{wv}Water_Vapor_Reference_Band_Code"))?,
    )?;
    p.wv_reference_min = num(&format!("{wv}Water_Vapor_Reflectance_Threshold_Ref"))?;
    let ozone = num(&format!("{wv}Ozone_Amount_Default_Value"))?;
    clouds(data, path, &mut p.clouds)?;
    if !(0.0..=1.0).contains(&p.min_cos_i) || !(0.0..=1.0).contains(&p.min_cos_ratio) {
        return Err(bad(
            "Slope_Min_Cos_I and Min_Cos_Ratio must lie in [0, 1]".into()
        ));
    }
    let constant_model = match data
        .find_text("Common_Parameters/Constant_Model")
        .map(str::trim)
    {
        None | Some("") => None,
        Some(m) if crate::ee::l2site::is_model_name(m) => Some(m.to_string()),
        Some(m) => {
            return Err(bad(format!(
                "Constant_Model '{}' is not a LUT nick name (1 to 8 capitals or digits)",
                crate::error::bounded(m)
            )))
        }
    };
    Ok(L2Comm {
        ozone,
        constant_model,
    })
}

/// The `Cloud_Masking`, `Water_Masking` and common elements of the masks
/// ([`CloudParams`]); window sizes in L2COMM coarse pixels become metres.
fn clouds(data: &Node, path: &Path, c: &mut CloudParams) -> Result<()> {
    let bad = |m: String| VipError::bad_input(path, m);
    let text = |q: &str| {
        data.find_text(q)
            .map(str::trim)
            .ok_or_else(|| bad(format!("L2COMM has no {q}")))
    };
    // a number within [lo, hi]
    let num = |q: &str, lo: f64, hi: f64| -> Result<f64> {
        let t = text(q)?;
        let v = t
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| bad(format!("{q} '{t}' is not a number")))?;
        if !(lo..=hi).contains(&v) {
            return Err(bad(format!("{q} {v} is outside [{lo}, {hi}]")));
        }
        Ok(v)
    };
    let band = |q: &str| -> Result<usize> {
        let t = text(q)?;
        BANDS
            .iter()
            .position(|b| b.code == t)
            .ok_or_else(|| bad(format!("{q} '{t}' is not a VENµS band")))
    };
    let cm = "Cloud_Masking/";
    let wm = "Water_Masking/";
    c.correl = band(&format!("{cm}Correl_Band_Code"))?;
    c.shadow_band = band(&format!("{cm}Shadow_Band_Code"))?;
    c.blue_threshold = num(&format!("{cm}Cloud_Blue_Reflectance_Threshold"), 0.0, 1.0)?;
    c.nir_red = (
        num(&format!("{cm}Nir_Red_Ratio_Min_Threshold"), 0.0, 10.0)?,
        num(&format!("{cm}Nir_Red_Ratio_Max_Threshold"), 0.0, 10.0)?,
    );
    c.var_blue_min = num(&format!("{cm}Min_Threshold_Var_Blue"), 0.0, 1.0)?;
    c.var_blue_max = num(&format!("{cm}Max_Threshold_Var_Blue"), c.var_blue_min, 1.0)?;
    c.var_blue_delta = num(&format!("{cm}Delta_Threshold"), 0.0, 1.0)?;
    c.forgetting_days = num(&format!("{cm}Cloud_Forgetting_Duration"), 1.0, 3650.0)?;
    c.k_red_blue = num(&format!("{cm}K_Red_Blue"), 0.0, 10.0)?;
    c.k_nir_blue = num(&format!("{cm}K_NIR_Blue"), 0.0, 10.0)?;
    c.correl_half_m = num(&format!("{cm}N_Correl"), 1.0, 50.0)? * L2COMM_COARSE_M;
    c.correl_threshold = num(&format!("{cm}Correl_Threshold"), 0.0, 100.0)? / 100.0;
    c.correl_min_cells = num(&format!("{cm}Min_Pixel_Correl"), 2.0, 10000.0)? as usize;
    c.dilation_m = num(&format!("{cm}SE_Cloud_Radius"), 0.0, 50.0)? * L2COMM_COARSE_M;
    c.max_altitude = num(&format!("{cm}Max_Cloud_Altitude"), 1000.0, 20000.0)?;
    c.default_altitude = num(&format!("{cm}Default_Altitude"), 0.0, c.max_altitude)?;
    c.delta_h = (
        num(&format!("{cm}Delta_H_Min"), -c.max_altitude, 0.0)?,
        num(&format!("{cm}Delta_H_Max"), 0.0, c.max_altitude)?,
        num(&format!("{cm}Delta_H_Step"), 10.0, 5000.0)?,
    );
    c.shadow_darkening_max = num(&format!("{cm}Shad_Var_Darkening_Max"), 0.0, 1.0)?;
    c.max_cloud_percentage = num("Common_Parameters/Max_Cloud_Percentage", 0.0, 100.0)?;
    c.max_age_days = num("Composite/Max_Age", 1.0, 3650.0)? as u32;
    c.n_stack = num(&format!("{cm}Number_Of_Stack_Images"), 1.0, 100.0)? as usize;
    c.water_ndvi_max = num(&format!("{wm}Water_NDVI_Threshold"), -1.0, 1.0)?;
    c.water_nir_max = num(&format!("{cm}Water_Reflectance_Threshold"), 0.0, 1.0)?;
    c.water_slope_max = num(&format!("{wm}Water_Slope_Threshold"), 0.0, 10.0)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example_path() -> std::path::PathBuf {
        crate::testdata("venus/examples/VE_TEST_GIP_L2COMM_L_ALLSITES_00001_20170801_99991231.EEF")
    }

    fn read(path: &Path, p: &mut Params) -> Result<L2Comm> {
        let doc = crate::ee::gipp::read_gipp(path, "GIP_L2COMM")?;
        apply(doc.data_block.as_ref().unwrap(), path, p)
    }

    #[test]
    fn the_icd_example_sets_the_parameters() {
        let mut p = Params::default();
        let c = read(&example_path(), &mut p).unwrap();
        assert_eq!((p.blue, p.red, p.nir), (2, 6, 10));
        assert_eq!((p.wv_absorbing, p.wv_reference), (11, 10));
        assert_eq!(p.ndvi_min, 0.3);
        assert_eq!(p.red_toa_max, 0.1);
        assert_eq!(p.dark_vegetation.slope, 0.5);
        // 10 coarse pixels of 100 m: about 4 cells of 240 m; 5 -> 2; sigma 3 -> 1.25
        assert_eq!(p.aot_half_window, 2);
        assert!((p.aot_sigma - 1.25).abs() < 1e-12);
        assert_eq!((p.min_cos_i, p.min_cos_ratio), (0.2, 0.2));
        assert_eq!(c.ozone, 0.3);
        let k = &p.clouds;
        assert_eq!((k.correl, k.shadow_band), (2, 10));
        assert_eq!(
            (k.var_blue_min, k.var_blue_max, k.var_blue_delta),
            (0.03, 0.08, 0.03)
        );
        assert_eq!(
            (k.correl_half_m, k.correl_threshold, k.dilation_m),
            (300.0, 0.9, 200.0)
        );
        assert_eq!((k.default_altitude, k.max_altitude), (2000.0, 10000.0));
        assert_eq!(k.max_cloud_percentage, 90.0);
    }

    #[test]
    fn a_missing_or_wrong_element_is_bad_input_naming_it() {
        let text = std::fs::read_to_string(example_path()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir
            .path()
            .join("VE_TEST_GIP_L2COMM_L_ALLSITES_00001_20170801_99991231.EEF");
        for (from, to, needle) in [
            ("<MS_Slope>0.5</MS_Slope>", "", "MS_Slope"),
            (
                "<Default_AOT>0.10</Default_AOT>",
                "<Default_AOT>x</Default_AOT>",
                "Default_AOT",
            ),
            (
                "<Water_Vapor_Band_Code>B12</Water_Vapor_Band_Code>",
                "<Water_Vapor_Band_Code>B13</Water_Vapor_Band_Code>",
                "B13",
            ),
            (
                "<Correl_Threshold>90</Correl_Threshold>",
                "<Correl_Threshold>190</Correl_Threshold>",
                "Correl_Threshold 190 is outside [0, 100]",
            ),
            (
                "<Max_Cloud_Altitude>10000</Max_Cloud_Altitude>",
                "",
                "Max_Cloud_Altitude",
            ),
        ] {
            assert!(text.contains(from), "{from}");
            std::fs::write(&path, text.replace(from, to)).unwrap();
            let e = read(&path, &mut Params::default()).unwrap_err();
            assert_eq!(e.exit_code(), 3);
            assert!(e.to_string().contains(needle), "{e}");
        }
    }
}
