//! The auxiliary data of one acquisition (ICD: `VE_AUX_GPSDTA`, `VE_AUX_AOCDTA`): the GPS
//! receiver's ephemeris and the AOCS attitude, each an `.EEF` whose Data_Block lists the
//! samples. Written by vip-sim beside the L1A it simulates, read by vip-l1.
//!
//! - **GPSDTA**: per sample the Earth-fixed position (m) and velocity (m/s) at an instant
//!   given as GPS week (from 1980-01-06) and seconds of the week, and GPS − UTC (the leap
//!   seconds since 1980: 18 from 2017 on).
//! - **AOCDTA**: per sample the instant (`MJD_Time`: days from 2000-01-01T12:00 UTC, the
//!   ICD's datation epoch) and the estimated attitude, the quaternion (q1 q2 q3 q0, scalar
//!   last) of the body frame in the mean-of-date inertial frame, and the body's angular rate
//!   (rad/s). The star-tracker fields are written as a valid measurement equal to the
//!   estimate, the thermistors and reference voltage as zero (VIP reads none of them).

use std::path::Path;

use chrono::{NaiveDate, NaiveDateTime};

use super::header::{EeDoc, FixedHeader, Layout};
use super::naming;
use super::xml::{num, Node};
use crate::error::{Result, VipError};
use crate::geometry::time::{add_seconds, from_icd_days, icd_days, seconds_between};

/// The identity both files of an acquisition share.
#[derive(Debug, Clone, PartialEq)]
pub struct AuxId {
    /// File_Class, e.g. `TEST`.
    pub class: String,
    /// Site type letter (`S` scientific, `C` calibration, ...) and nick name.
    pub site_type: char,
    pub nick: String,
    /// Absolute orbit number of the acquisition (0 … 99999).
    pub orbit: u32,
    /// Serial key of the data element (0 … 99999).
    pub serial: u32,
}

impl AuxId {
    /// `VEN_KRN_<orbit>_<serial>_0`: the downlink (Kiruna) data element.
    fn data_element(&self) -> String {
        format!("VEN_KRN_{:05}_{:05}_0", self.orbit, self.serial)
    }

    /// The logical file name of the file of type `ty` (`GPSDTA`, `AOCDTA`).
    pub fn file_name(&self, ty: &str) -> String {
        format!(
            "VE_{}_AUX_{ty}_{}_{}_{:05}_S_{}",
            self.class,
            self.site_type,
            self.nick,
            self.orbit,
            self.data_element()
        )
    }

    fn check(&self) -> Result<()> {
        naming::file_class(&self.class)?;
        naming::nick_name(&self.nick)?;
        if self.orbit > 99_999 || self.serial > 99_999 {
            return Err(VipError::Internal(format!(
                "orbit {} or serial key {} beyond five digits",
                self.orbit, self.serial
            )));
        }
        Ok(())
    }

    fn specific(&self) -> Result<Node> {
        let site_type = match self.site_type {
            'S' => "S_SCIENTIFIC",
            'C' => "C_CALIBRATION",
            'T' => "T_TEST",
            'M' => "M_MOON",
            'O' => "O_COMPOSITE",
            'P' => "P_SPECIFIC",
            'A' => "A_MAINTENANCE",
            t => return Err(VipError::Internal(format!("site type '{t}'"))),
        };
        Ok(Node::new("Specific_Product_Header")
            .child(
                Node::new("Instance_Id")
                    .child(Node::text("Site_Type", site_type))
                    .child(Node::text("Nick_Name", &self.nick))
                    .child(Node::text("Acquisition_Orbit_Number", self.orbit).attr("unit", "abs"))
                    .child(Node::text("Auxiliary_Data_Type", "S_SITE"))
                    .child(Node::text("Data_Element", self.data_element())),
            )
            .child(Node::text(
                "Related_SiteDefinition_Id",
                naming::site_definition_id(&self.class, self.site_type, &self.nick)?,
            )))
    }

    fn doc(
        &self,
        ty: &str,
        description: &str,
        span: (NaiveDateTime, NaiveDateTime),
        data: Node,
    ) -> Result<EeDoc> {
        self.check()?;
        let now = super::header::creation_time();
        Ok(EeDoc {
            layout: Layout::File,
            xsi_type: format!("{ty}_File_Type"),
            schema_version: "0.40".into(),
            fixed: FixedHeader {
                file_name: self.file_name(ty),
                description: description.into(),
                notes: String::new(),
                file_class: self.class.clone(),
                file_type: format!("AUX_{ty}"),
                validity_start: span.0,
                validity_stop: span.1,
                version: 1,
                creator: "vip".into(),
                creator_version: env!("CARGO_PKG_VERSION").into(),
                creation_date: now,
            },
            extensions: vec![],
            specific: self.specific()?,
            data_block: Some(data),
        })
    }
}

/// The GPS time origin, 1980-01-06T00:00:00 (GPS = UTC then).
fn gps_epoch() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(1980, 1, 6)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("valid date")
}

/// One GPS ephemeris sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GpsSample {
    /// The UTC instant.
    pub utc: NaiveDateTime,
    /// GPS − UTC, whole seconds.
    pub utc_offset: u8,
    /// Earth-fixed position (m) and velocity (m/s).
    pub position: [f64; 3],
    pub velocity: [f64; 3],
}

impl GpsSample {
    /// GPS week and seconds of the week of the sample's instant.
    pub fn gps_time(&self) -> (u16, f64) {
        let s = seconds_between(gps_epoch(), self.utc) + f64::from(self.utc_offset);
        let week = (s / 604_800.0).floor();
        (week as u16, s - week * 604_800.0)
    }
}

/// One attitude sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttitudeSample {
    pub utc: NaiveDateTime,
    /// Body frame in the mean-of-date frame: q1 q2 q3 q0 (scalar last).
    pub quaternion: [f64; 4],
    /// Angular rate in the body frame, rad/s.
    pub rate: [f64; 3],
}

fn span_of(times: impl Iterator<Item = NaiveDateTime>) -> Result<(NaiveDateTime, NaiveDateTime)> {
    let t: Vec<NaiveDateTime> = times.collect();
    match (t.iter().min(), t.iter().max()) {
        (Some(a), Some(b)) => Ok((*a, *b)),
        _ => Err(VipError::Internal("no sample to write".into())),
    }
}

fn list3(v: &[f64]) -> String {
    v.iter().map(|x| num(*x)).collect::<Vec<_>>().join(" ")
}

/// The GPSDTA document of the samples (instants increasing).
pub fn gpsdta(id: &AuxId, samples: &[GpsSample]) -> Result<EeDoc> {
    let items = samples
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let (week, secs) = s.gps_time();
            Node::new("GPS_Data")
                .attr("sn", i + 1)
                .child(Node::text("PositionXYZ", list3(&s.position)))
                .child(Node::text("VelocityXYZ", list3(&s.velocity)))
                .child(Node::text("Clock_Drift", 0))
                .child(Node::text("GPS_Time", format!("{secs:.6}")))
                .child(Node::text("GPS_Week", week))
                .child(Node::text("Position_Combined_Src", 0).attr("mask", "0x00"))
                .child(Node::text("Velocity_Combined_Src", 0).attr("mask", "0x00"))
                .child(Node::text("Sv_Map", 0))
                .child(Node::text("Position_Quality", 1))
                .child(Node::text("Velocity_Quality", "0.01"))
                .child(Node::text("Clock_Drift_Quality", 0))
                .child(Node::text("UTC_Offset", s.utc_offset))
                .child(Node::text("PDOP", 1))
                .child(Node::text("GPS_Hardware_Status", 0))
        })
        .collect();
    let data = Node::new("Data_Block")
        .child(Node::text("GPS_Coordinate_System", "ECEF"))
        .child(Node::text("Position_Unit", "m"))
        .child(Node::text("Velocity_Unit", "m/s"))
        .child(Node::text("Clock_Drift_Unit", "m/s"))
        .child(Node::text("GPS_Time_Unit", "s"))
        .child(Node::text("UTC_Offset_Unit", "s"))
        .child(Node::list("List_of_GPS_Data", items));
    id.doc(
        "GPSDTA",
        "GPSData",
        span_of(samples.iter().map(|s| s.utc))?,
        data,
    )
}

/// The AOCDTA document of the samples (instants increasing).
pub fn aocdta(id: &AuxId, samples: &[AttitudeSample]) -> Result<EeDoc> {
    let items = samples
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let q = list3(&s.quaternion);
            Node::new("AOCS_Data")
                .attr("sn", i + 1)
                .child(Node::text("MJD_Time", format!("{:.12}", icd_days(s.utc))))
                .child(Node::text("Str_Attitude_Variance", 1))
                .child(Node::text("Str_Valid_Flag", 3))
                .child(Node::text("Str_Measured_Attitudes", &q))
                .child(Node::text("Estimated_Attitudes", &q))
                .child(Node::text("Estimated_Velocity_XYZ", list3(&s.rate)))
                .child(Node::text("Thermistor_Values", "0 0 0 0"))
                .child(Node::text("Reference_Voltage", 0))
        })
        .collect();
    let data = Node::new("Data_Block")
        .child(Node::text("MJD_Time_Unit", "days"))
        .child(Node::text("Str_Attitude_Variance_Unit", "10-8rad"))
        .child(Node::text("Velocity_Unit", "rad/s"))
        .child(Node::list("List_of_AOCS_Data", items));
    id.doc(
        "AOCDTA",
        "AOCSData",
        span_of(samples.iter().map(|s| s.utc))?,
        data,
    )
}

/// The numbers of `text` (whitespace-separated), exactly `n` of them, else bad input.
fn numbers<const N: usize>(text: Option<&str>, what: &str, path: &Path) -> Result<[f64; N]> {
    let v: Vec<f64> = text
        .unwrap_or_default()
        .split_whitespace()
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| VipError::bad_input(path, format!("{what} is not a list of numbers")))?;
    let v: [f64; N] = v
        .try_into()
        .map_err(|_| VipError::bad_input(path, format!("{what} does not hold {N} numbers")))?;
    if v.iter().any(|x| !x.is_finite()) {
        return Err(VipError::bad_input(path, format!("{what} is not finite")));
    }
    Ok(v)
}

/// The samples of the list `list` of `item`s of the Data_Block of an `ty` file, in order of
/// strictly increasing instants, else bad input naming the file.
fn samples<T>(
    path: &Path,
    ty: &str,
    (list, item): (&str, &str),
    one: impl Fn(&Node) -> Result<T>,
    time: impl Fn(&T) -> NaiveDateTime,
) -> Result<Vec<T>> {
    let doc = EeDoc::read(path)?;
    doc.expect_type(&format!("AUX_{ty}"), path)?;
    let block = doc
        .data_block
        .as_ref()
        .and_then(|d| d.get(list))
        .ok_or_else(|| VipError::bad_input(path, format!("no Data_Block/{list}")))?;
    let out: Vec<T> = block.all(item).map(&one).collect::<Result<_>>()?;
    if out.len() < 2 {
        return Err(VipError::bad_input(path, "fewer than 2 samples"));
    }
    if out.windows(2).any(|w| time(&w[1]) <= time(&w[0])) {
        return Err(VipError::bad_input(path, "sample instants do not increase"));
    }
    Ok(out)
}

/// Reads a GPSDTA file: its samples, instants increasing.
pub fn read_gpsdta(path: &Path) -> Result<Vec<GpsSample>> {
    let one = |n: &Node| -> Result<GpsSample> {
        let [secs] = numbers::<1>(n.find_text("GPS_Time"), "GPS_Time", path)?;
        let [week] = numbers::<1>(n.find_text("GPS_Week"), "GPS_Week", path)?;
        let [offset] = numbers::<1>(n.find_text("UTC_Offset"), "UTC_Offset", path)?;
        if !(0.0..=255.0).contains(&offset) || !(0.0..604_800.0).contains(&secs) {
            return Err(VipError::bad_input(
                path,
                "GPS_Time or UTC_Offset out of range",
            ));
        }
        Ok(GpsSample {
            utc: add_seconds(gps_epoch(), week * 604_800.0 + secs - offset),
            utc_offset: offset as u8,
            position: numbers(n.find_text("PositionXYZ"), "PositionXYZ", path)?,
            velocity: numbers(n.find_text("VelocityXYZ"), "VelocityXYZ", path)?,
        })
    };
    samples(path, "GPSDTA", ("List_of_GPS_Data", "GPS_Data"), one, |s| {
        s.utc
    })
}

/// Reads an AOCDTA file: its samples, instants increasing, quaternions normalised (a
/// quaternion far from unit length is bad input).
pub fn read_aocdta(path: &Path) -> Result<Vec<AttitudeSample>> {
    let one = |n: &Node| -> Result<AttitudeSample> {
        let [days] = numbers::<1>(n.find_text("MJD_Time"), "MJD_Time", path)?;
        let q: [f64; 4] = numbers(
            n.find_text("Estimated_Attitudes"),
            "Estimated_Attitudes",
            path,
        )?;
        let norm = q.iter().map(|x| x * x).sum::<f64>().sqrt();
        if (norm - 1.0).abs() > 1e-3 {
            return Err(VipError::bad_input(
                path,
                format!("Estimated_Attitudes is not a unit quaternion (norm {norm:.4})"),
            ));
        }
        Ok(AttitudeSample {
            utc: from_icd_days(days),
            quaternion: q.map(|x| x / norm),
            rate: numbers(
                n.find_text("Estimated_Velocity_XYZ"),
                "Estimated_Velocity_XYZ",
                path,
            )?,
        })
    };
    samples(
        path,
        "AOCDTA",
        ("List_of_AOCS_Data", "AOCS_Data"),
        one,
        |s| s.utc,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> AuxId {
        AuxId {
            class: "TEST".into(),
            site_type: 'S',
            nick: "SIMULSIT".into(),
            orbit: 7993,
            serial: 1,
        }
    }

    fn t(ms: i64) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2019, 2, 4)
            .unwrap()
            .and_hms_opt(8, 34, 32)
            .unwrap()
            + chrono::Duration::milliseconds(ms)
    }

    #[test]
    fn written_files_validate_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let gps: Vec<GpsSample> = (0..3)
            .map(|k| GpsSample {
                utc: t(1000 * k),
                utc_offset: 18,
                position: [4_500_000.5 + k as f64, 3_100_000.25, 4_000_000.125],
                velocity: [-1234.5, 2345.25, -6789.125],
            })
            .collect();
        let p = dir.path().join(format!("{}.EEF", id().file_name("GPSDTA")));
        gpsdta(&id(), &gps).unwrap().write(&p).unwrap();
        assert!(
            super::super::schema::validate(&p).is_ok(),
            "{:?}",
            super::super::schema::validate(&p)
        );
        let back = read_gpsdta(&p).unwrap();
        for (a, b) in gps.iter().zip(&back) {
            assert_eq!(
                (a.position, a.velocity, a.utc_offset),
                (b.position, b.velocity, b.utc_offset)
            );
            assert!(seconds_between(a.utc, b.utc).abs() < 2e-6);
        }
        // 2019-02-04 is GPS week 2039, Monday 08:34:32 UTC + 18 s
        assert_eq!(
            gps[0].gps_time(),
            (2039, 86_400.0 + 8.0 * 3600.0 + 34.0 * 60.0 + 50.0)
        );

        let att: Vec<AttitudeSample> = (0..3)
            .map(|k| AttitudeSample {
                utc: t(100 * k),
                quaternion: [0.1, -0.2, 0.3, (1.0f64 - 0.14).sqrt()],
                rate: [1e-4, -1.06e-3, 2e-5],
            })
            .collect();
        let p = dir.path().join(format!("{}.EEF", id().file_name("AOCDTA")));
        aocdta(&id(), &att).unwrap().write(&p).unwrap();
        assert!(
            super::super::schema::validate(&p).is_ok(),
            "{:?}",
            super::super::schema::validate(&p)
        );
        let back = read_aocdta(&p).unwrap();
        for (a, b) in att.iter().zip(&back) {
            assert!(seconds_between(a.utc, b.utc).abs() < 2e-5);
            for k in 0..4 {
                assert!((a.quaternion[k] - b.quaternion[k]).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn bad_samples_are_refused_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let att = |q0: f64, order: [i64; 2]| -> Vec<AttitudeSample> {
            order
                .iter()
                .map(|&k| AttitudeSample {
                    utc: t(100 * k),
                    quaternion: [0.0, 0.0, 0.0, q0],
                    rate: [0.0; 3],
                })
                .collect()
        };
        let p = dir.path().join("A.EEF");
        for (samples, why) in [
            (att(1.0, [1, 0]), "sample instants do not increase"),
            (att(1.1, [0, 1]), "not a unit quaternion"),
        ] {
            aocdta(&id(), &samples).unwrap().write(&p).unwrap();
            let e = read_aocdta(&p).unwrap_err().to_string();
            assert!(e.contains("A.EEF") && e.contains(why), "{e}");
        }
        // a GPSDTA is not an AOCDTA
        aocdta(&id(), &att(1.0, [0, 1])).unwrap().write(&p).unwrap();
        let e = read_gpsdta(&p).unwrap_err().to_string();
        assert!(e.contains("A.EEF"), "{e}");
    }
}
