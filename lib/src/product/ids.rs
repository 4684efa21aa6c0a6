//! Logical ids of the files of one product (ICD-DIGEST §1.5), built in one place.
//!
//! A product is named by its file class (`TEST`, `OPER`, ...), its file semantic (`1AVALD`,
//! `L1VALD`, ...), the 8-character site nick name and the acquisition date; every file of the
//! product derives its id from these four.

use chrono::NaiveDate;

use crate::error::{Result, VipError};

/// The naming parts shared by every file of one product.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ids {
    pub class: String,
    /// File semantic: level + validity code, e.g. `1AVALD`, `L1VALD`.
    pub semantic: &'static str,
    pub nick: String,
    pub date: NaiveDate,
}

impl Ids {
    pub fn new(class: &str, semantic: &'static str, nick: &str, date: NaiveDate) -> Ids {
        Ids {
            class: class.to_string(),
            semantic,
            nick: nick.to_string(),
            date,
        }
    }

    /// Checks the parts against the id grammar, so a header is never written with an id the
    /// schemas reject.
    pub fn check(&self) -> Result<()> {
        let upper = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        };
        if self.nick.len() != 8 || !upper(&self.nick) {
            return Err(VipError::Usage(format!(
                "site nick name '{}' must be exactly 8 characters among 0-9, A-Z and _",
                self.nick
            )));
        }
        let class_ok = matches!(
            self.class.as_str(),
            "OPER" | "TEST" | "GSOV" | "IOTE" | "VM01" | "VM02" | "VM03" | "DROB"
        ) || (self.class.len() == 4
            && upper(&self.class)
            && (self.class.starts_with("SVT") || self.class.starts_with("TD")));
        if !class_ok {
            return Err(VipError::Usage(format!(
                "file class '{}' is not one of OPER, TEST, SVTx, TDxx, GSOV, IOTE, VM01-VM03, DROB",
                self.class
            )));
        }
        Ok(())
    }

    /// `<nick>_<yyyymmdd>`: the instance part of every id of the product.
    pub fn instance(&self) -> String {
        format!("{}_{}", self.nick, self.date.format("%Y%m%d"))
    }

    /// The product id, `VE_<class>_VSC_<semantic>_<nick>_<date>`.
    pub fn product(&self) -> String {
        format!(
            "VE_{}_VSC_{}_{}",
            self.class,
            self.semantic,
            self.instance()
        )
    }

    /// The private technical file id, `VE_<class>_TEC_<semantic>_<nick>_<date>`.
    pub fn technical(&self) -> String {
        format!(
            "VE_{}_TEC_{}_{}",
            self.class,
            self.semantic,
            self.instance()
        )
    }

    /// An image file id, `VE_<class>_VSC_PDTIMG_<semantic>_<nick>_<date>[_<suffix>]`.
    pub fn image(&self, suffix: Option<&str>) -> String {
        let base = format!(
            "VE_{}_VSC_PDTIMG_{}_{}",
            self.class,
            self.semantic,
            self.instance()
        );
        match suffix {
            Some(s) => format!("{base}_{s}"),
            None => base,
        }
    }

    /// An annex file id, `VE_<class>_VSC_PDTANX_<semantic>_<nick>_<date>_<code>`.
    pub fn annex(&self, code: &str) -> String {
        format!(
            "VE_{}_VSC_PDTANX_{}_{}_{code}",
            self.class,
            self.semantic,
            self.instance()
        )
    }

    /// The geometric model id, `VE_<class>_TEC_GEOMDL_<semantic>_<nick>_<date>`.
    pub fn geometric_model(&self) -> String {
        format!(
            "VE_{}_TEC_GEOMDL_{}_{}",
            self.class,
            self.semantic,
            self.instance()
        )
    }

    /// The site definition id, `VE_<class>_MPL_SITDEF_S_<nick>` (scientific site).
    pub fn site_definition(&self) -> String {
        format!("VE_{}_MPL_SITDEF_S_{}", self.class, self.nick)
    }

    /// Name of the product folder beside the global header: `<product id>.DBL.DIR`.
    pub fn dbl_dir(&self) -> String {
        format!("{}.DBL.DIR", self.product())
    }

    /// The global header in `dir`: `<dir>/<product id>.HDR`.
    pub fn header_path(&self, dir: &std::path::Path) -> std::path::PathBuf {
        dir.join(format!("{}.HDR", self.product()))
    }

    /// File `name` of the product folder in `dir`: `<dir>/<product id>.DBL.DIR/<name>`.
    pub fn in_dbl(&self, dir: &std::path::Path, name: &str) -> std::path::PathBuf {
        dir.join(self.dbl_dir()).join(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_icd_grammar() {
        let d = NaiveDate::from_ymd_opt(2018, 1, 1).unwrap();
        let ids = Ids::new("TEST", "L1VALD", "CAMARGUE", d);
        ids.check().unwrap();
        assert_eq!(ids.product(), "VE_TEST_VSC_L1VALD_CAMARGUE_20180101");
        assert_eq!(ids.technical(), "VE_TEST_TEC_L1VALD_CAMARGUE_20180101");
        assert_eq!(
            ids.image(None),
            "VE_TEST_VSC_PDTIMG_L1VALD_CAMARGUE_20180101"
        );
        assert_eq!(
            ids.image(Some("B05")),
            "VE_TEST_VSC_PDTIMG_L1VALD_CAMARGUE_20180101_B05"
        );
        assert_eq!(
            ids.annex("SOL"),
            "VE_TEST_VSC_PDTANX_L1VALD_CAMARGUE_20180101_SOL"
        );
        assert_eq!(ids.site_definition(), "VE_TEST_MPL_SITDEF_S_CAMARGUE");
        assert!(Ids::new("TEST", "L1VALD", "CAMARGU", d).check().is_err());
        assert!(Ids::new("TEST", "L1VALD", "camargue", d).check().is_err());
        assert!(Ids::new("PROD", "L1VALD", "CAMARGUE", d).check().is_err());
        Ids::new("TD01", "L1VALD", "_PE_R_U_", d).check().unwrap();
    }
}
