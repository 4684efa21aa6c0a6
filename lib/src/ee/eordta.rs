//! Earth orientation data (ICD: `VE_EXO_EORDTA`): the pole coordinates and UT1 − UTC of
//! IERS Bulletin A, day by day, over a validity period. The ICD defines the header (`.HDR`,
//! an unpackaged `.DBL` beside it) but not the data block; VIP's is a text table, one line per
//! day (`#` comments and blank lines ignored):
//!
//! ```text
//! # date      x_pole(")  y_pole(")  UT1-UTC(s)
//! 2024-06-14  0.160510   0.451230   0.011850
//! ```
//!
//! Between two days the values are interpolated linearly (UT1 − UTC through UT1 − TAI, so a
//! leap second between them does not smear). An instant outside the validity period or the
//! table is bad input naming the file: an out-of-date file must not pass unnoticed.

use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};

use super::header::{EeDoc, FixedHeader, Layout};
use super::naming;
use super::xml::Node;
use crate::error::{Result, VipError};
use crate::geometry::earth::{tai_minus_utc, EarthOrientation};
use crate::geometry::time::seconds_between;

/// One day of the table, at 0h UTC.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EopDay {
    pub date: NaiveDate,
    pub eop: EarthOrientation,
}

/// An Earth orientation file as read.
#[derive(Debug, Clone)]
pub struct EopTable {
    pub days: Vec<EopDay>,
    pub validity: (NaiveDateTime, NaiveDateTime),
    /// The header, for messages.
    pub source: PathBuf,
}

fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(0, 0, 0).expect("midnight exists")
}

/// The logical name of the file valid over `validity`.
pub fn file_name(class: &str, validity: (NaiveDateTime, NaiveDateTime)) -> String {
    let f = |t: NaiveDateTime| t.format("%Y%m%dT%H%M%S").to_string();
    format!("VE_{class}_EXO_EORDTA_{}_{}", f(validity.0), f(validity.1))
}

/// Writes the `.HDR` (created at `creation`) and its `.DBL` into `dir`; returns the header's
/// path. The days must be consecutive.
pub fn write_eordta(
    dir: &Path,
    class: &str,
    days: &[EopDay],
    validity: (NaiveDateTime, NaiveDateTime),
    creation: NaiveDateTime,
) -> Result<PathBuf> {
    let class = naming::file_class(class)?;
    if days.len() < 2
        || days
            .windows(2)
            .any(|w| (w[1].date - w[0].date).num_days() != 1)
    {
        return Err(VipError::Internal(
            "an EORDTA table needs two or more consecutive days".into(),
        ));
    }
    let name = file_name(&class, validity);
    let dbl = format!("{name}.DBL");
    let mut text = String::from("# date      x_pole(\")  y_pole(\")  UT1-UTC(s)\n");
    for d in days {
        text.push_str(&format!(
            "{}  {:.6}  {:.6}  {:.7}\n",
            d.date, d.eop.x_pole, d.eop.y_pole, d.eop.ut1_utc
        ));
    }
    let specific = Node::new("Specific_Product_Header")
        .child(
            Node::new("Instance_Id").child(super::header::validity_period(validity.0, validity.1)),
        )
        .child(Node::text("Data_Block_Source_Location", "IERS Bulletin A"))
        .child(
            Node::new("DBL_Organization").child(
                Node::new("Unpackaged_DBL_File")
                    .child(Node::text("Relative_File_Path", &dbl))
                    .child(Node::text("File_Format", "ASCII"))
                    .child(Node::text(
                        "File_Definition",
                        "one line per day: date x_pole(arcsec) y_pole(arcsec) UT1-UTC(s)",
                    )),
            ),
        );
    let doc = EeDoc {
        layout: Layout::Header,
        xsi_type: "EORDTA_Header_Type".into(),
        schema_version: "0.40".into(),
        fixed: FixedHeader::by_vip(
            &name,
            "EarthOrientationData",
            &class,
            "EXO_EORDTA",
            validity,
            creation,
        ),
        extensions: vec![],
        specific,
        data_block: None,
    };
    let hdr = dir.join(format!("{name}.HDR"));
    std::fs::write(dir.join(&dbl), text).map_err(|e| VipError::output_io(dir.join(&dbl), &e))?;
    doc.write(&hdr)?;
    Ok(hdr)
}

/// Reads an EORDTA header and its table.
pub fn read_eordta(hdr: &Path) -> Result<EopTable> {
    let doc = EeDoc::read(hdr)?;
    doc.expect_type("EXO_EORDTA", hdr)?;
    let rel = doc
        .specific
        .find_text("DBL_Organization/Unpackaged_DBL_File/Relative_File_Path")
        .ok_or_else(|| VipError::bad_input(hdr, "no DBL_Organization/Unpackaged_DBL_File"))?;
    let dbl = hdr.parent().unwrap_or(Path::new(".")).join(rel.trim());
    let text = crate::input::read_file(&dbl, 16 << 20, "an Earth orientation table")?;
    let text = String::from_utf8(text).map_err(|_| VipError::bad_input(&dbl, "not text"))?;
    let mut days: Vec<EopDay> = vec![];
    for (k, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || {
            VipError::bad_input(
                &dbl,
                format!("line {}: expected a date and 3 numbers", k + 1),
            )
        };
        let f: Vec<&str> = line.split_whitespace().collect();
        let [date, x, y, dut1] = f[..] else {
            return Err(bad());
        };
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| bad())?;
        let num = |s: &str| {
            s.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(bad)
        };
        let eop = EarthOrientation {
            x_pole: num(x)?,
            y_pole: num(y)?,
            ut1_utc: num(dut1)?,
        };
        if eop.ut1_utc.abs() > 0.9 || eop.x_pole.abs() > 1.0 || eop.y_pole.abs() > 1.0 {
            return Err(VipError::bad_input(
                &dbl,
                format!(
                    "line {}: values beyond the Earth's (|UT1-UTC| <= 0.9 s, poles <= 1\")",
                    k + 1
                ),
            ));
        }
        if days.last().is_some_and(|p| (date - p.date).num_days() != 1) {
            return Err(VipError::bad_input(
                &dbl,
                format!("line {}: days are not consecutive", k + 1),
            ));
        }
        days.push(EopDay { date, eop });
    }
    if days.len() < 2 {
        return Err(VipError::bad_input(&dbl, "fewer than 2 days"));
    }
    Ok(EopTable {
        days,
        validity: (doc.fixed.validity_start, doc.fixed.validity_stop),
        source: hdr.to_path_buf(),
    })
}

impl EopTable {
    /// The Earth orientation at the UTC instant `t`.
    pub fn at(&self, t: NaiveDateTime) -> Result<EarthOrientation> {
        let (a, b) = self.validity;
        if t < a || t > b {
            return Err(VipError::bad_input(
                &self.source,
                format!("valid from {a} to {b}, not at {t}: out of date"),
            ));
        }
        let i = self
            .days
            .windows(2)
            .position(|w| midnight(w[0].date) <= t && t <= midnight(w[1].date))
            .ok_or_else(|| {
                VipError::bad_input(
                    &self.source,
                    format!(
                        "the table spans {} to {}, not {t}",
                        self.days[0].date,
                        self.days[self.days.len() - 1].date
                    ),
                )
            })?;
        let (d0, d1) = (&self.days[i], &self.days[i + 1]);
        let s = seconds_between(midnight(d0.date), t) / 86_400.0;
        let lerp = |u: f64, v: f64| u + s * (v - u);
        // UT1 − TAI is continuous across a leap second, UT1 − UTC is not
        let tai = |d: &EopDay| tai_minus_utc(midnight(d.date));
        let ut1_tai = lerp(d0.eop.ut1_utc - tai(d0)?, d1.eop.ut1_utc - tai(d1)?);
        Ok(EarthOrientation {
            x_pole: lerp(d0.eop.x_pole, d1.eop.x_pole),
            y_pole: lerp(d0.eop.y_pole, d1.eop.y_pole),
            ut1_utc: ut1_tai + tai_minus_utc(t)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32, x: f64, dut1: f64) -> EopDay {
        EopDay {
            date: NaiveDate::from_ymd_opt(2024, 6, d).unwrap(),
            eop: EarthOrientation {
                x_pole: x,
                y_pole: 0.45,
                ut1_utc: dut1,
            },
        }
    }

    #[test]
    fn written_files_validate_read_back_and_interpolate() {
        let dir = tempfile::tempdir().unwrap();
        let days = [
            day(14, 0.16, 0.0118),
            day(15, 0.162, 0.0116),
            day(16, 0.164, 0.0114),
        ];
        let validity = (midnight(days[0].date), midnight(days[2].date));
        let hdr = write_eordta(dir.path(), "TEST", &days, validity, validity.0).unwrap();
        assert!(
            super::super::schema::validate(&hdr).is_ok(),
            "{:?}",
            super::super::schema::validate(&hdr)
        );
        let t = read_eordta(&hdr).unwrap();
        assert_eq!(t.days, days);
        let noon = midnight(days[1].date) + chrono::Duration::hours(12);
        let e = t.at(noon).unwrap();
        assert!((e.x_pole - 0.163).abs() < 1e-12 && (e.ut1_utc - 0.0115).abs() < 1e-12);
        // out of date
        let late = midnight(days[2].date) + chrono::Duration::seconds(1);
        let err = t.at(late).unwrap_err().to_string();
        assert!(err.contains(".HDR") && err.contains("out of date"), "{err}");
    }

    #[test]
    fn a_damaged_table_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let days = [day(14, 0.16, 0.0118), day(15, 0.162, 0.0116)];
        let hdr = write_eordta(
            dir.path(),
            "TEST",
            &days,
            (midnight(days[0].date), midnight(days[1].date)),
            midnight(days[0].date),
        )
        .unwrap();
        let dbl = hdr.with_extension("DBL");
        for (text, why) in [
            ("2024-06-14 0.1 0.4\n2024-06-15 0.1 0.4 0.0\n", "line 1"),
            (
                "2024-06-14 0.1 0.4 0.0\n2024-06-16 0.1 0.4 0.0\n",
                "not consecutive",
            ),
            (
                "2024-06-14 0.1 0.4 3.0\n2024-06-15 0.1 0.4 0.0\n",
                "beyond the Earth's",
            ),
        ] {
            std::fs::write(&dbl, text).unwrap();
            let e = read_eordta(&hdr).unwrap_err().to_string();
            assert!(e.contains(".DBL") && e.contains(why), "{e}");
        }
    }
}
