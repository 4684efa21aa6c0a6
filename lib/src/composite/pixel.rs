//! One pixel of the synthesis from its observations, with CNES WASP's rules
//! (`WASP:UpdateSynthesis/src/UpdateSynthesisFunctor.txx`), taken all at once rather than date
//! after date:
//! - a clear land observation (no cloud or cloud shadow, no snow, no water, at most
//!   `Max_Sat_Bands` saturated bands) enters the weighted average of the reflectance (per band,
//!   over the observations where that band has data) and of the date; the weights add up;
//! - a pixel never seen clear takes snow or water from the observation nearest the synthesis
//!   date (WASP keeps the last date it processed, which depends on the order of the inputs),
//!   else, if it was seen only saturated, the nearest such observation (flag saturated, a VIP
//!   addition: WASP has the flag value but no rule for it), else, under cloud or cloud shadow,
//!   the observation of darkest blue (flag cloud, or cloud shadow when that observation was
//!   shadow only), else it is no data. These keep weight 0 and count no date.
//!
//! Residual clouds and shadows (a VIP addition to WASP's rules), against the median of the
//! pixel's clear observations in blue (B03), red (B07) and near infrared (B11): an observation
//! whose blue stands more than [`RESIDUAL_BLUE_RISE`] above the median, with a blue rise at
//! least [`RESIDUAL_WHITENESS`] times its red rise (a cloud whitens; a harvest or a ploughed
//! field reddens) and a near-infrared rise under [`RESIDUAL_NIR_RISE`] times its blue rise (lit
//! ground seen against shadowed dates brightens most in the infrared), is a cloud the L2 mask
//! missed; one darker than the median by the shares of [`RESIDUAL_SHADOW_RATIO`] in near
//! infrared, red and blue at once is a missed cloud shadow (lit by the sky alone, a larger share
//! of the light in blue and over dark canopies; a harvest or a mown meadow darkens the infrared
//! but brightens the red). Both are left out of the average, unless that would leave
//! nothing: a thin cloud or a shadow missed on one date otherwise tints the whole window.
//!
//! A pixel seen clear only where every weight is 0 (deep under a large cloud's smoothed mask,
//! through a hole in it) takes the plain mean of those observations: WASP divides 0 by 0 there.

use crate::product::l2a::bits;
use crate::product::l3a::{flags, PXD_NODATA, WEIGHT_QUANTIFICATION};

/// Number of reflectance bands.
pub const NB: usize = 12;
/// Blue rise over the darkest clear observation above which an observation is a residual cloud.
pub const RESIDUAL_BLUE_RISE: f64 = 0.04;
/// Least ratio of the blue rise to the red rise of a residual cloud.
pub const RESIDUAL_WHITENESS: f64 = 0.7;
/// Largest ratio of the near-infrared rise to the blue rise of a residual cloud.
pub const RESIDUAL_NIR_RISE: f64 = 2.0;
/// Shares of the median in near infrared, red and blue under which an observation is a
/// residual shadow (the sky lights the shade, more in blue and over dark canopies).
pub const RESIDUAL_SHADOW_RATIO: [f64; 3] = [0.7, 0.8, 0.9];
/// Band indices of the residual tests: blue B03, red B07, near infrared B11.
const BLUE: usize = 2;
const RED: usize = 6;
const NIR: usize = 10;

/// One L2A at one pixel.
#[derive(Debug, Clone, Copy)]
pub struct Obs {
    /// FRE counts per band (`nodata` where a band has no value).
    pub fre: [i16; NB],
    pub cld: u8,
    pub msk: u8,
    /// QLT SAT and OTH bits.
    pub sat: u16,
    pub oth: u16,
    /// The observation's weight W = W_AOT · W_cloud · W_date.
    pub weight: f64,
    /// Days from the synthesis date.
    pub days: i64,
}

/// What an observation shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    NoData,
    Land,
    Water,
    Snow,
    Saturated,
    Cloud,
    Shadow,
}

/// The rules' parameters.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// FRE no-data count.
    pub nodata: i16,
    /// Reflectance of one FRE count.
    pub quantification: f64,
    /// Most saturated bands an observation used as clear may have.
    pub max_sat_bands: u32,
}

impl Rules {
    fn kind(&self, o: &Obs) -> Kind {
        if o.oth & bits::OTH_EDG != 0 || o.fre.iter().all(|&v| v == self.nodata) {
            Kind::NoData
        } else if o.cld & bits::CLD_ALL != 0 {
            if o.cld & bits::CLD_ALL_CLOUDS != 0 {
                Kind::Cloud
            } else {
                Kind::Shadow
            }
        } else if o.msk & bits::MSK_WAT != 0 {
            Kind::Water
        } else if o.msk & bits::MSK_SNW != 0 {
            Kind::Snow
        } else if o.sat.count_ones() > self.max_sat_bands {
            Kind::Saturated
        } else {
            Kind::Land
        }
    }
}

/// The synthesis at one pixel, as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pixel {
    pub fre: [i16; NB],
    /// Weighted-average date, days from the synthesis date ([`PXD_NODATA`] when none).
    pub pxd: i16,
    /// Sum of the weights × [`WEIGHT_QUANTIFICATION`].
    pub wgt: i16,
    /// Clear dates averaged.
    pub nbd: i16,
    /// SAT bits of the observations used.
    pub sat: i16,
    /// Status, [`flags`].
    pub flag: u8,
}

fn half_away(x: f64) -> f64 {
    x.signum() * (x.abs() + 0.5).floor()
}

fn count(x: f64) -> i16 {
    half_away(x).clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16
}

/// The observation of `candidates` nearest the synthesis date, the later on a tie.
fn nearest<'a>(candidates: impl Iterator<Item = &'a Obs>) -> Option<&'a Obs> {
    candidates.min_by_key(|o| (o.days.unsigned_abs(), std::cmp::Reverse(o.days)))
}

/// `land` less its residual clouds and shadows (see the module's doc).
fn without_residuals<'a>(land: Vec<&'a Obs>, rules: &Rules) -> Vec<&'a Obs> {
    let has = |o: &Obs| [BLUE, RED, NIR].iter().all(|&b| o.fre[b] != rules.nodata);
    if land.len() < 2 || !land.iter().all(|o| has(o)) {
        return land;
    }
    let v = |o: &Obs, b: usize| f64::from(o.fre[b]) * rules.quantification;
    let median: [f64; 3] = [BLUE, RED, NIR].map(|b| {
        let mut x: Vec<f64> = land.iter().map(|o| v(o, b)).collect();
        x.sort_by(f64::total_cmp);
        let m = x.len() / 2;
        if x.len() % 2 == 1 {
            x[m]
        } else {
            0.5 * (x[m - 1] + x[m])
        }
    });
    let kept: Vec<&Obs> = land
        .iter()
        .copied()
        .filter(|o| {
            let [blue, red, nir] = [BLUE, RED, NIR].map(|b| v(o, b));
            let rise = [blue - median[0], red - median[1], nir - median[2]];
            let cloud = rise[0] > RESIDUAL_BLUE_RISE
                && rise[0] >= RESIDUAL_WHITENESS * rise[1]
                && rise[2] < RESIDUAL_NIR_RISE * rise[0];
            let [in_nir, in_red, in_blue] = RESIDUAL_SHADOW_RATIO;
            let shadow =
                nir < in_nir * median[2] && red < in_red * median[1] && blue < in_blue * median[0];
            !cloud && !shadow
        })
        .collect();
    // every observation an outlier of the others: no verdict
    if kept.is_empty() {
        land
    } else {
        kept
    }
}

/// The synthesis of `obs` (one per L2A, any order) at one pixel.
pub fn synthesise(obs: &[Obs], rules: &Rules) -> Pixel {
    let kinds: Vec<Kind> = obs.iter().map(|o| rules.kind(o)).collect();
    let of = |k: Kind| {
        obs.iter()
            .zip(&kinds)
            .filter(move |(_, &x)| x == k)
            .map(|(o, _)| o)
    };
    let land = without_residuals(of(Kind::Land).collect(), rules);
    if !land.is_empty() {
        let total: f64 = land.iter().map(|o| o.weight).sum();
        // all weights 0: the plain mean
        let w = |o: &Obs| if total > 0.0 { o.weight } else { 1.0 };
        let mut fre = [rules.nodata; NB];
        for (b, v) in fre.iter_mut().enumerate() {
            let (mut s, mut sw) = (0.0, 0.0);
            for o in land.iter().filter(|o| o.fre[b] != rules.nodata) {
                s += w(o) * f64::from(o.fre[b]);
                sw += w(o);
            }
            if sw > 0.0 {
                *v = count(s / sw);
            }
        }
        let sw: f64 = land.iter().map(|o| w(o)).sum();
        let days: f64 = land.iter().map(|o| w(o) * o.days as f64).sum::<f64>() / sw;
        return Pixel {
            fre,
            pxd: count(days),
            wgt: count(total * WEIGHT_QUANTIFICATION),
            nbd: land.len() as i16,
            sat: land.iter().fold(0u16, |a, o| a | o.sat) as i16,
            flag: flags::LAND,
        };
    }
    let pick = |o: &Obs, flag: u8| Pixel {
        fre: o.fre,
        pxd: o.days.clamp(i64::from(i16::MIN), i64::from(i16::MAX)) as i16,
        wgt: 0,
        nbd: 0,
        sat: o.sat as i16,
        flag,
    };
    let snow_or_water = obs
        .iter()
        .zip(&kinds)
        .filter(|(_, &k)| k == Kind::Snow || k == Kind::Water)
        .map(|(o, _)| o);
    if let Some(o) = nearest(snow_or_water) {
        let flag = if o.msk & bits::MSK_WAT != 0 {
            flags::WATER
        } else {
            flags::SNOW
        };
        return pick(o, flag);
    }
    if let Some(o) = nearest(of(Kind::Saturated)) {
        return pick(o, flags::SATURATED);
    }
    let covered: Vec<(&Obs, Kind)> = obs
        .iter()
        .zip(&kinds)
        .filter(|(_, &k)| k == Kind::Cloud || k == Kind::Shadow)
        .map(|(o, &k)| (o, k))
        .collect();
    let darkest = covered
        .iter()
        .filter(|(o, _)| o.fre[BLUE] != rules.nodata)
        .min_by_key(|(o, _)| (o.fre[BLUE], o.days.unsigned_abs()))
        .or_else(|| covered.first());
    if let Some((o, k)) = darkest {
        let flag = if *k == Kind::Cloud {
            flags::CLOUD
        } else {
            flags::SHADOW
        };
        return pick(o, flag);
    }
    Pixel {
        fre: [rules.nodata; NB],
        pxd: PXD_NODATA,
        wgt: 0,
        nbd: 0,
        sat: 0,
        flag: flags::NO_DATA,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules {
        nodata: -10000,
        quantification: 0.001,
        max_sat_bands: 1,
    };

    fn obs(v: i16, days: i64, weight: f64) -> Obs {
        Obs {
            fre: [v; NB],
            cld: 0,
            msk: 0,
            sat: 0,
            oth: 0,
            weight,
            days,
        }
    }

    #[test]
    fn land_is_the_weighted_mean_of_clear_observations() {
        let mut cloudy = obs(900, 0, 1.0);
        cloudy.cld = bits::CLD_ALL | bits::CLD_ALL_CLOUDS;
        let p = synthesise(&[obs(100, -4, 0.25), cloudy, obs(200, 6, 0.75)], &RULES);
        assert_eq!(p.flag, flags::LAND);
        assert_eq!(p.fre, [175; NB]);
        assert_eq!(p.pxd, 4); // (−4·0.25 + 6·0.75) / 1 = 3.5 → 4
        assert_eq!(p.wgt, 1000);
        assert_eq!(p.nbd, 2);
        // a band without data in one observation averages the others
        let mut gap = obs(200, 6, 0.75);
        gap.fre[5] = -10000;
        let p = synthesise(&[obs(100, -4, 0.25), gap], &RULES);
        assert_eq!(p.fre[5], 100);
        assert_eq!(p.fre[4], 175);
        // zero weights: the plain mean
        let p = synthesise(&[obs(100, -4, 0.0), obs(200, 6, 0.0)], &RULES);
        assert_eq!((p.fre[0], p.pxd, p.wgt), (150, 1, 0));
    }

    #[test]
    fn never_clear_pixels_keep_snow_water_saturated_then_darkest_cloud() {
        let with = |v: i16, days: i64, f: &dyn Fn(&mut Obs)| {
            let mut o = obs(v, days, 1.0);
            f(&mut o);
            o
        };
        let cloud = |v, d| with(v, d, &|o| o.cld = bits::CLD_ALL | bits::CLD_ALL_CLOUDS);
        let shadow = |v, d| with(v, d, &|o| o.cld = bits::CLD_ALL | bits::CLD_SHADOWS);
        let snow = |v, d| with(v, d, &|o| o.msk = bits::MSK_SNW);
        let water = |v, d| with(v, d, &|o| o.msk = bits::MSK_WAT);
        let sat = |v, d| with(v, d, &|o| o.sat = 0b11);
        let edge = |v, d| with(v, d, &|o| o.oth = bits::OTH_EDG);

        let p = synthesise(&[snow(700, -6), water(50, 3), cloud(300, 0)], &RULES);
        assert_eq!(
            (p.flag, p.fre[0], p.pxd, p.wgt, p.nbd),
            (flags::WATER, 50, 3, 0, 0)
        );
        // on a tie, the later date
        let p = synthesise(&[snow(700, -3), snow(600, 3)], &RULES);
        assert_eq!((p.flag, p.fre[0]), (flags::SNOW, 600));
        let p = synthesise(&[sat(800, 5), cloud(300, 0)], &RULES);
        assert_eq!((p.flag, p.fre[0], p.sat), (flags::SATURATED, 800, 3));
        let p = synthesise(&[cloud(400, -2), shadow(80, 9), cloud(300, 1)], &RULES);
        assert_eq!((p.flag, p.fre[0], p.pxd), (flags::SHADOW, 80, 9));
        let p = synthesise(&[cloud(400, -2), cloud(300, 1)], &RULES);
        assert_eq!((p.flag, p.fre[0], p.pxd), (flags::CLOUD, 300, 1));
        let p = synthesise(&[edge(400, -2)], &RULES);
        assert_eq!(
            (p.flag, p.fre[0], p.pxd),
            (flags::NO_DATA, -10000, PXD_NODATA)
        );
        // one clear observation beats any number of others
        let p = synthesise(&[cloud(300, 0), snow(700, 1), obs(120, 10, 0.5)], &RULES);
        assert_eq!((p.flag, p.fre[0], p.pxd, p.nbd), (flags::LAND, 120, 10, 1));
        // one saturated band is allowed as clear, and reported
        let one = with(150, 2, &|o| o.sat = 0b100);
        let p = synthesise(&[one], &RULES);
        assert_eq!((p.flag, p.sat), (flags::LAND, 4));
    }
}
