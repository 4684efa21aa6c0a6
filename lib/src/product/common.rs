//! Pieces shared by the product headers: number and time formatting that the schemas accept,
//! the blocks every product information carries (angles, wavelengths, file references), and
//! typed reading of values back with errors that name the file.

use std::path::Path;

use chrono::{Duration, NaiveDate, NaiveDateTime, Timelike};

use crate::ee::header::{parse_utc, utc};
use crate::ee::Node;
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
    pub fn located(&self, base: &Path, reference: &Node) -> Result<std::path::PathBuf> {
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
}

/// The `.DBL.TIF` raster beside an image or annex header `X.HDR`: `X.DBL.TIF`.
pub fn raster_beside(hdr: &Path) -> std::path::PathBuf {
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
