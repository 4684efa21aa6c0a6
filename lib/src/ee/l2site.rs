//! GIP_L2SITE (a site's L2 parameters, ICD-DIGEST §5.5, schema 0.40) with VIP's extension:
//! the site's aerosol model.
//!
//! The VENµS L2SITE carries the dark-pixel AOT constraint of MAJA (`Dark_Pixel_Threshold`,
//! `Darkest_Pixel_Surface_Reflectance`), which VIP reads but does not use. VIP adds one
//! optional element at the end of the data block (schema `lib/schemas/VIP_GIP_L2SITE.xsd`):
//!
//! ```xml
//! <Aerosol_Model>
//!   <Model>URBAN</Model>                    the nick name of the site's LUT GIPPs
//!   <Automatic_Choice>true</Automatic_Choice>
//! </Aerosol_Model>
//! ```
//!
//! What the model and the choice do is [`crate::level2::aerosol`]'s business.

use std::path::Path;

use super::gipp::read_gipp;
use super::gipps::{text_num, GippCommon, Kind};
use super::xml::dec;
use super::{EeDoc, Node};
use crate::error::{Result, VipError};

const L2SITE: Kind = Kind {
    gipp_type: "L2SITE",
    description: "L2SiteParameters",
    schema_version: "0.40",
};

/// The content of a GIP_L2SITE data block.
#[derive(Debug, Clone, PartialEq)]
pub struct L2Site {
    /// `AOT_Estimation/Dark_Pixel_Threshold` and `Darkest_Pixel_Surface_Reflectance` (3
    /// decimals; not used by VIP).
    pub dark_pixel_threshold: f64,
    pub darkest_pixel_surface_reflectance: f64,
    /// VIP's extension: the site's aerosol model.
    pub aerosol: Option<SiteAerosol>,
}

/// The site's aerosol model and whether the L2 may choose another per scene.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteAerosol {
    /// Nick name of the LUT GIPPs (`CONTINEN`, `URBAN`, ...).
    pub model: String,
    pub automatic: bool,
}

/// Whether `name` can be a LUT nick name: 1 to 8 capitals or digits (the schema's pattern).
pub fn is_model_name(name: &str) -> bool {
    (1..=8).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// The L2SITE document of `s`.
pub fn l2site(common: &GippCommon, s: &L2Site) -> Result<EeDoc> {
    super::gipps::check_finite(
        "GIP_L2SITE",
        [s.dark_pixel_threshold, s.darkest_pixel_surface_reflectance],
    )?;
    let mut data = Node::new("Data_Block").child(
        Node::new("AOT_Estimation")
            .child(Node::text(
                "Dark_Pixel_Threshold",
                dec(s.dark_pixel_threshold, 3),
            ))
            .child(Node::text(
                "Darkest_Pixel_Surface_Reflectance",
                dec(s.darkest_pixel_surface_reflectance, 3),
            )),
    );
    if let Some(a) = &s.aerosol {
        if !is_model_name(&a.model) {
            return Err(VipError::Internal(format!(
                "GIP_L2SITE: aerosol model '{}' is not a nick name",
                a.model
            )));
        }
        data = data.child(
            Node::new("Aerosol_Model")
                .child(Node::text("Model", &a.model))
                .child(Node::text("Automatic_Choice", a.automatic)),
        );
    }
    common.doc(&L2SITE, None, None, data)
}

/// Reads a GIP_L2SITE file.
pub fn read_l2site(path: &Path) -> Result<L2Site> {
    let doc = read_gipp(path, "GIP_L2SITE")?;
    let bad = |m: String| VipError::bad_input(path, m);
    let data = doc
        .data_block
        .as_ref()
        .ok_or_else(|| bad("no Data_Block".into()))?;
    let aerosol = match data.get("Aerosol_Model") {
        None => None,
        Some(a) => {
            let text = |q: &str| {
                a.find_text(q)
                    .map(str::trim)
                    .ok_or_else(|| bad(format!("Aerosol_Model has no {q}")))
            };
            let model = text("Model")?;
            if !is_model_name(model) {
                return Err(bad(format!(
                    "Aerosol_Model/Model '{}' is not a LUT nick name (1 to 8 capitals or digits)",
                    crate::error::bounded(model)
                )));
            }
            let automatic = match text("Automatic_Choice")? {
                "true" | "1" => true,
                "false" | "0" => false,
                t => {
                    return Err(bad(format!(
                        "Aerosol_Model/Automatic_Choice '{}' is not a boolean",
                        crate::error::bounded(t)
                    )))
                }
            };
            Some(SiteAerosol {
                model: model.to_string(),
                automatic,
            })
        }
    };
    Ok(L2Site {
        dark_pixel_threshold: text_num(data, "AOT_Estimation/Dark_Pixel_Threshold", path)?,
        darkest_pixel_surface_reflectance: text_num(
            data,
            "AOT_Estimation/Darkest_Pixel_Surface_Reflectance",
            path,
        )?,
        aerosol,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ee::gipp::Applicability;
    use crate::ee::gipps::{tests::common, write_gipp};

    fn site(aerosol: Option<SiteAerosol>) -> L2Site {
        L2Site {
            dark_pixel_threshold: 0.05,
            darkest_pixel_surface_reflectance: 0.01,
            aerosol,
        }
    }

    #[test]
    fn with_and_without_the_extension_validate_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let plain = site(None);
        let p = write_gipp(
            &l2site(&common(Applicability::AllSites), &plain).unwrap(),
            dir.path(),
        )
        .unwrap();
        // a VENµS L2SITE: both schemas take it
        assert!(crate::ee::schema::validate(&p).is_ok());
        crate::ee::schema::validate_with(&p, "venus/icd/Venus/VE_GIP_L2SITE_L2SiteParameters.xsd")
            .unwrap();
        assert_eq!(read_l2site(&p).unwrap(), plain);

        let dir = tempfile::tempdir().unwrap();
        let urban = site(Some(SiteAerosol {
            model: "URBAN".into(),
            automatic: true,
        }));
        let p = write_gipp(
            &l2site(&common(Applicability::AllSites), &urban).unwrap(),
            dir.path(),
        )
        .unwrap();
        assert_eq!(
            crate::ee::schema::validate(&p).unwrap(),
            "VIP_GIP_L2SITE.xsd"
        );
        // the VENµS schema does not know the extension
        assert!(crate::ee::schema::validate_with(
            &p,
            "venus/icd/Venus/VE_GIP_L2SITE_L2SiteParameters.xsd"
        )
        .is_err());
        assert_eq!(read_l2site(&p).unwrap(), urban);

        // a lower-case model is refused by the schema and by the reader, naming the file
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, text.replace("<Model>URBAN<", "<Model>urban<")).unwrap();
        assert!(crate::ee::schema::validate(&p).is_err());
        let e = read_l2site(&p).unwrap_err();
        assert_eq!(e.exit_code(), 3);
        assert!(e.to_string().contains("'urban'"), "{e}");
    }
}
