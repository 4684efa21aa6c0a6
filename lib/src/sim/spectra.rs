//! Surface reflectance spectra of the simulated world, in the 12 VENµS bands, from the table that
//! `scripts/make-spectra` builds out of independent sources (PROSAIL canopies, measured soils and
//! urban materials, a bio-optical water model, an asymptotic snow model; provenance in
//! `testdata/spectra/README.md`). The table is compiled in and parsed once.
//!
//! Canopies are interpolated multilinearly in their five-parameter grid, water and snow linearly
//! along their one axis, soils linearly between dry and wet; every parameter is clamped to its axis.

use std::sync::OnceLock;

/// Number of spectral bands (the VENµS bands B01..B12).
pub const NB: usize = 12;

const TABLE: &str = include_str!("../../../testdata/spectra/venus_surface_spectra.tsv");

/// A PROSAIL canopy: PROSPECT-5 leaves over the PROSAIL soil, seen at nadir with the sun at 40°.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Canopy {
    /// Leaf area index, m²/m².
    pub lai: f64,
    /// Leaf chlorophyll a+b, µg/cm².
    pub cab: f64,
    /// Leaf equivalent water thickness, cm.
    pub cw: f64,
    /// Senescent (brown pigment) fraction, 0..1.
    pub brown: f64,
    /// Soil under the canopy, 0 dry .. 1 wet.
    pub soil_moisture: f64,
}

/// Bare soils of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Soil {
    /// The PROSAIL soil (its dry/wet pair).
    Prosail,
    /// Bright sand (Santa Barbara urban library).
    Sand,
    /// The reddest soils of the ICRAF-ISRIC library.
    Red,
    /// The darkest soils of the ICRAF-ISRIC library.
    Dark,
}

/// Urban materials of the table (Santa Barbara urban library).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Material {
    Asphalt,
    Concrete,
    RedTile,
    MetalRoof,
    Gravel,
    ShingleRoof,
}

impl Soil {
    pub const ALL: [Soil; 4] = [Soil::Prosail, Soil::Sand, Soil::Red, Soil::Dark];

    /// Its name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Soil::Prosail => "prosail",
            Soil::Sand => "sand",
            Soil::Red => "red",
            Soil::Dark => "dark",
        }
    }
}

impl Material {
    pub const ALL: [Material; 6] = [
        Material::Asphalt,
        Material::Concrete,
        Material::RedTile,
        Material::MetalRoof,
        Material::Gravel,
        Material::ShingleRoof,
    ];

    /// Its name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Material::Asphalt => "asphalt",
            Material::Concrete => "concrete",
            Material::RedTile => "red_tile",
            Material::MetalRoof => "metal_roof",
            Material::Gravel => "gravel",
            Material::ShingleRoof => "shingle_roof",
        }
    }
}

/// The axes of the canopy grid (increasing nodes); draw parameters within `first..=last`.
#[derive(Debug, Clone, PartialEq)]
pub struct CanopyGrid {
    pub lai: Vec<f64>,
    pub cab: Vec<f64>,
    pub cw: Vec<f64>,
    pub brown: Vec<f64>,
    pub soil_moisture: Vec<f64>,
}

impl CanopyGrid {
    fn axes(&self) -> [&[f64]; 5] {
        [
            &self.lai,
            &self.cab,
            &self.cw,
            &self.brown,
            &self.soil_moisture,
        ]
    }
}

fn values(p: &Canopy) -> [f64; 5] {
    [p.lai, p.cab, p.cw, p.brown, p.soil_moisture]
}

/// The parsed table.
#[derive(Debug)]
pub struct Library {
    grid: CanopyGrid,
    /// Canopy spectra, row-major over the grid's axes (soil moisture fastest).
    canopy: Vec<[f64; NB]>,
    /// Per soil (in `Soil::ALL` order): dry, wet.
    soils: Vec<[[f64; NB]; 2]>,
    materials: Vec<[f64; NB]>,
    water: Vec<(f64, [f64; NB])>,
    snow: Vec<(f64, [f64; NB])>,
}

/// The table, parsed on first use.
pub fn library() -> &'static Library {
    static LIBRARY: OnceLock<Library> = OnceLock::new();
    LIBRARY.get_or_init(|| Library::parse(TABLE))
}

/// Where `x` (clamped to the axis) falls: the lower node's index and the weight of the upper.
fn locate(axis: &[f64], x: f64) -> (usize, f64) {
    locate_by(axis.len(), |k| axis[k], x)
}

/// [`locate`] on the `len` nodes `node(k)`.
fn locate_by(len: usize, node: impl Fn(usize) -> f64, x: f64) -> (usize, f64) {
    let last = len - 1;
    let x = x.max(node(0)).min(node(last)); // NaN goes to the first node
    if last == 0 {
        return (0, 0.0);
    }
    let i = (1..last).take_while(|&k| node(k) <= x).count();
    (i, (x - node(i)) / (node(i + 1) - node(i)))
}

/// Piecewise-linear interpolation along increasing nodes, clamped.
fn along(nodes: &[(f64, [f64; NB])], x: f64) -> [f64; NB] {
    let (i, w) = locate_by(nodes.len(), |k| nodes[k].0, x);
    let upper = &nodes[(i + 1).min(nodes.len() - 1)].1;
    std::array::from_fn(|b| nodes[i].1[b] * (1.0 - w) + upper[b] * w)
}

impl Library {
    /// Parses the table text; the table is compiled in, so a malformed one is a bug (panics).
    fn parse(text: &str) -> Library {
        let mut lines = text.lines();
        let header: Vec<&str> = lines
            .next()
            .expect("spectra table: no header")
            .split('\t')
            .collect();
        let col = |name: &str| {
            header
                .iter()
                .position(|h| *h == name)
                .unwrap_or_else(|| panic!("spectra table: no column {name}"))
        };
        let (kind, name) = (col("kind"), col("name"));
        let params = ["lai", "cab", "cw", "brown", "soil_moisture"].map(col);
        let (turbidity, age, b01) = (col("turbidity"), col("age"), col("B01"));
        let num = |cells: &[&str], c: usize| -> f64 {
            cells[c]
                .parse()
                .unwrap_or_else(|_| panic!("spectra table: {:?} is not a number", cells[c]))
        };
        let mut canopy_rows = Vec::new();
        let mut soils = vec![[[f64::NAN; NB]; 2]; Soil::ALL.len()];
        let mut materials = vec![[f64::NAN; NB]; Material::ALL.len()];
        let (mut water, mut snow) = (Vec::new(), Vec::new());
        for line in lines.filter(|l| !l.is_empty()) {
            let cells: Vec<&str> = line.split('\t').collect();
            assert_eq!(cells.len(), header.len(), "spectra table: row {line:?}");
            let rho: [f64; NB] = std::array::from_fn(|b| num(&cells, b01 + b));
            match cells[kind] {
                "canopy" => canopy_rows.push((params.map(|c| num(&cells, c)), rho)),
                "soil" => {
                    let s = Soil::ALL.iter().position(|s| s.name() == cells[name]);
                    let s = s.unwrap_or_else(|| panic!("spectra table: soil {}", cells[name]));
                    soils[s][usize::from(num(&cells, params[4]) > 0.5)] = rho;
                }
                "material" => {
                    let m = Material::ALL.iter().position(|m| m.name() == cells[name]);
                    let m = m.unwrap_or_else(|| panic!("spectra table: material {}", cells[name]));
                    materials[m] = rho;
                }
                "water" => water.push((num(&cells, turbidity), rho)),
                "snow" => snow.push((num(&cells, age), rho)),
                other => panic!("spectra table: kind {other}"),
            }
        }
        let axis = |k: usize| {
            let mut v: Vec<f64> = canopy_rows.iter().map(|r| r.0[k]).collect();
            v.sort_by(f64::total_cmp);
            v.dedup();
            v
        };
        let grid = CanopyGrid {
            lai: axis(0),
            cab: axis(1),
            cw: axis(2),
            brown: axis(3),
            soil_moisture: axis(4),
        };
        let mut canopy = vec![[f64::NAN; NB]; grid.axes().iter().map(|a| a.len()).product()];
        assert_eq!(
            canopy.len(),
            canopy_rows.len(),
            "spectra table: canopy grid is not full"
        );
        for (p, rho) in canopy_rows {
            let mut index = 0;
            for (axis, x) in grid.axes().iter().zip(p) {
                index = index * axis.len() + axis.iter().position(|&a| a == x).unwrap();
            }
            assert!(
                canopy[index][0].is_nan(),
                "spectra table: canopy node twice"
            );
            canopy[index] = rho;
        }
        let complete = |s: &[f64; NB]| s.iter().all(|v| v.is_finite());
        assert!(
            soils.iter().flatten().all(complete),
            "spectra table: a soil is missing"
        );
        assert!(
            materials.iter().all(complete),
            "spectra table: a material is missing"
        );
        assert!(
            !water.is_empty() && !snow.is_empty(),
            "spectra table: no water or snow"
        );
        water.sort_by(|a, b| a.0.total_cmp(&b.0));
        snow.sort_by(|a, b| a.0.total_cmp(&b.0));
        Library {
            grid,
            canopy,
            soils,
            materials,
            water,
            snow,
        }
    }

    /// The 32 grid nodes around `p` and their multilinear weights (bit k of a corner's index
    /// says whether it takes the upper node on axis k), built axis by axis.
    fn corners(&self, p: &Canopy) -> [(usize, f64); 32] {
        let mut out = [(0, 1.0); 32];
        for (k, (axis, x)) in self.grid.axes().into_iter().zip(values(p)).enumerate() {
            let (i, w) = locate(axis, x);
            let up = (i + 1).min(axis.len() - 1);
            let half = 1 << k;
            for c in 0..half {
                let (index, weight) = out[c];
                out[c + half] = (index * axis.len() + up, weight * w);
                out[c] = (index * axis.len() + i, weight * (1.0 - w));
            }
        }
        out
    }

    /// Canopy reflectance, multilinear in the grid (parameters clamped to it).
    pub fn canopy(&self, p: &Canopy) -> [f64; NB] {
        let corners = self.corners(p);
        std::array::from_fn(|b| corners.iter().map(|&(i, w)| w * self.canopy[i][b]).sum())
    }

    /// Canopy reflectance in band `b` (0-based) alone.
    pub fn canopy_band(&self, p: &Canopy, b: usize) -> f64 {
        self.corners(p)
            .iter()
            .map(|&(i, w)| w * self.canopy[i][b])
            .sum()
    }

    /// Bare soil reflectance, linear between dry (`moisture` 0) and wet (1).
    pub fn soil(&self, s: Soil, moisture: f64) -> [f64; NB] {
        let [dry, wet] = &self.soils[s as usize];
        along(&[(0.0, *dry), (1.0, *wet)], moisture)
    }

    /// Urban material reflectance.
    pub fn material(&self, m: Material) -> [f64; NB] {
        self.materials[m as usize]
    }

    /// Optically deep water reflectance, 0 clear .. 1 turbid.
    pub fn water(&self, turbidity: f64) -> [f64; NB] {
        along(&self.water, turbidity)
    }

    /// Snow reflectance, 0 fresh .. 1 old (coarser grains, some soot).
    pub fn snow(&self, age: f64) -> [f64; NB] {
        along(&self.snow, age)
    }

    /// The canopy grid's axes, for the landscape to draw within.
    pub fn parameter_ranges(&self) -> &CanopyGrid {
        &self.grid
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The canopy rows as the text has them, split independently of the parser.
    fn canopy_rows() -> Vec<(Canopy, [f64; NB])> {
        TABLE
            .lines()
            .skip(1)
            .filter(|l| l.starts_with("canopy\t"))
            .map(|l| {
                let v: Vec<f64> = l
                    .split('\t')
                    .skip(2)
                    .filter_map(|c| c.parse().ok())
                    .collect();
                let p = Canopy {
                    lai: v[0],
                    cab: v[1],
                    cw: v[2],
                    brown: v[3],
                    soil_moisture: v[4],
                };
                (p, std::array::from_fn(|b| v[5 + b]))
            })
            .collect()
    }

    #[test]
    fn grid_nodes_give_the_table_rows() {
        let lib = library();
        let rows = canopy_rows();
        assert!(rows.len() >= 500, "{} canopy rows", rows.len());
        for (p, rho) in &rows {
            assert_eq!(lib.canopy(p), *rho, "{p:?}");
            assert_eq!(lib.canopy_band(p, 10), rho[10], "{p:?}");
        }
    }

    #[test]
    fn between_nodes_it_is_linear_and_bounded() {
        let lib = library();
        let g = lib.parameter_ranges();
        let node = |lai, cab| Canopy {
            lai,
            cab,
            cw: g.cw[1],
            brown: g.brown[0],
            soil_moisture: g.soil_moisture[0],
        };
        for i in 0..g.lai.len() - 1 {
            for j in 0..g.cab.len() - 1 {
                let (a, b) = (
                    lib.canopy(&node(g.lai[i], g.cab[j])),
                    lib.canopy(&node(g.lai[i + 1], g.cab[j])),
                );
                let mid = lib.canopy(&node(0.5 * (g.lai[i] + g.lai[i + 1]), g.cab[j]));
                // Along one axis the interpolation is linear: monotone, and the mean at the midpoint.
                for k in 0..NB {
                    assert!((mid[k] - 0.5 * (a[k] + b[k])).abs() < 1e-12);
                }
                // Inside a cell it stays within its corners.
                let c = lib.canopy(&node(g.lai[i + 1], g.cab[j + 1]));
                let d = lib.canopy(&node(g.lai[i], g.cab[j + 1]));
                let inner = lib.canopy(&node(
                    0.3 * g.lai[i] + 0.7 * g.lai[i + 1],
                    0.8 * g.cab[j] + 0.2 * g.cab[j + 1],
                ));
                for k in 0..NB {
                    let lo = a[k].min(b[k]).min(c[k]).min(d[k]);
                    let hi = a[k].max(b[k]).max(c[k]).max(d[k]);
                    assert!(lo - 1e-12 <= inner[k] && inner[k] <= hi + 1e-12);
                }
            }
        }
    }

    #[test]
    fn parameters_are_clamped_to_the_grid() {
        let lib = library();
        let g = lib.parameter_ranges();
        let inside = Canopy {
            lai: *g.lai.last().unwrap(),
            cab: g.cab[0],
            cw: g.cw[0],
            brown: 1.0,
            soil_moisture: 0.0,
        };
        let outside = Canopy {
            lai: 99.0,
            cab: -5.0,
            cw: 0.0,
            brown: 3.0,
            soil_moisture: f64::NAN,
        };
        assert_eq!(lib.canopy(&outside), lib.canopy(&inside));
        assert_eq!(lib.water(-1.0), lib.water(0.0));
        assert_eq!(lib.snow(2.0), lib.snow(1.0));
        assert_eq!(lib.soil(Soil::Sand, 7.0), lib.soil(Soil::Sand, 1.0));
    }

    #[test]
    fn spectra_have_their_physics() {
        let lib = library();
        // Red edge of dense canopies: NIR (B11, 865 nm) well above red (B07, 667 nm).
        for (p, rho) in canopy_rows().iter().filter(|(p, _)| p.lai >= 3.0) {
            assert!(rho[10] > 3.0 * rho[6], "{p:?}: {rho:?}");
        }
        // Clear water is black in the near infrared; turbid water is brighter in the red.
        assert!(lib.water(0.0)[10] < 0.02);
        assert!(lib.water(1.0)[6] > lib.water(0.0)[6]);
        // Fresh snow is white; aging darkens it, most in the near infrared.
        assert!(lib.snow(0.0)[0] > 0.8);
        assert!(lib.snow(1.0)[10] < lib.snow(0.0)[10]);
        // Soils rise from blue to NIR, and darken when wet.
        for s in Soil::ALL {
            for m in [0.0, 0.5, 1.0] {
                let r = lib.soil(s, m);
                assert!(r[2] < r[6] && r[6] < r[10], "{s:?} {m}: {r:?}");
            }
            assert!(lib.soil(s, 1.0)[6] < lib.soil(s, 0.0)[6]);
        }
        // Red clay tiles are red, asphalt is dark, concrete bright.
        let tile = lib.material(Material::RedTile);
        assert!(tile[6] > 2.0 * tile[3]);
        assert!(lib.material(Material::Asphalt)[6] < 0.1);
        assert!(lib.material(Material::Concrete)[6] > 0.2);
        for m in Material::ALL {
            assert!(lib.material(m).iter().all(|&v| v > 0.0 && v < 1.0), "{m:?}");
        }
    }
}
