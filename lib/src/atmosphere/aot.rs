//! Aerosol optical thickness from the image: a least-squares cost over the AOT.
//!
//! Every method states equations whose residual depends on the AOT only through surface
//! reflectances inverted at that AOT. They are tabulated at the nodes of an AOT axis (linear in
//! between, where the inversion is close to linear), so the cost Σ w·r(a)² is a quadratic on
//! each interval and its minimum is found exactly, without iterations or a starting point.
//!
//! * Multi-spectral (dark vegetation): over dense vegetation the surface blue reflectance is a
//!   fixed fraction of the red one, `ρs_blue = slope·ρs_red + intercept` (MAJA's MS method).
//! * Multi-temporal: the surface reflectance of a stable pixel does not change between dates;
//!   its equations `ρs_D(a) − ρs_previous` come from the context of the previous date and plug
//!   in through [`Equations`] (the context is read by the L2 processor once it exists).

/// One equation of the cost: residuals at the AOT nodes and a weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Residual {
    pub weight: f64,
    pub values: Vec<f64>,
}

/// A source of equations for the AOT of a coarse cell.
pub trait Equations: Sync {
    /// Appends the equations of cell (`row`, `col`) to `out`, each tabulated at the AOT nodes
    /// the caller minimises over ([`minimise`]).
    fn equations(&self, row: usize, col: usize, out: &mut Vec<Residual>);
}

/// The multi-spectral method's relation between surface blue and red reflectances.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DarkVegetation {
    pub slope: f64,
    pub intercept: f64,
}

impl DarkVegetation {
    /// The residual of one dark-vegetation sample from its surface reflectances at the nodes.
    pub fn residual(&self, weight: f64, blue: &[f64], red: &[f64]) -> Residual {
        Residual {
            weight,
            values: blue
                .iter()
                .zip(red)
                .map(|(b, r)| b - (self.slope * r + self.intercept))
                .collect(),
        }
    }
}

/// The AOT (within `nodes`) minimising Σ w·r(a)², residuals linear between nodes; `None`
/// without equations. Ties go to the smaller AOT.
pub fn minimise(nodes: &[f64], residuals: &[Residual]) -> Option<f64> {
    minimum(nodes, residuals).map(|(aot, _)| aot)
}

/// [`minimise`] with the cost Σ w·r² at the minimum.
pub fn minimum(nodes: &[f64], residuals: &[Residual]) -> Option<(f64, f64)> {
    if residuals.is_empty() || nodes.is_empty() {
        return None;
    }
    if nodes.len() == 1 {
        let cost = residuals
            .iter()
            .map(|r| r.weight * r.values[0].powi(2))
            .sum();
        return Some((nodes[0], cost));
    }
    let mut best: Option<(f64, f64)> = None;
    for j in 0..nodes.len() - 1 {
        // on [a_j, a_j+1], r = r0 + t·d, cost = Σ w (r0 + t d)² = A t² + 2 B t + C
        let (mut a, mut b, mut c) = (0.0, 0.0, 0.0);
        for r in residuals {
            let (r0, d) = (r.values[j], r.values[j + 1] - r.values[j]);
            a += r.weight * d * d;
            b += r.weight * r0 * d;
            c += r.weight * r0 * r0;
        }
        let t = if a > 0.0 {
            (-b / a).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let cost = a * t * t + 2.0 * b * t + c;
        let aot = nodes[j] + t * (nodes[j + 1] - nodes[j]);
        if best.is_none_or(|(_, bc)| cost < bc - 1e-15) {
            best = Some((aot, cost));
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimum_of_linear_residuals_is_exact() {
        let nodes = [0.0, 0.2, 0.4, 0.8];
        // residuals vanishing at a = 0.33 (linear in a, so exactly representable)
        let line = |k: f64| Residual {
            weight: 1.0,
            values: nodes.iter().map(|a| k * (a - 0.33)).collect(),
        };
        let got = minimise(&nodes, &[line(1.0), line(-0.5), line(2.0)]).unwrap();
        assert!((got - 0.33).abs() < 1e-12, "{got}");
        // two inconsistent equations: the weighted mean of their zeros
        let at = |z: f64, w: f64| Residual {
            weight: w,
            values: nodes.iter().map(|a| a - z).collect(),
        };
        let got = minimise(&nodes, &[at(0.1, 1.0), at(0.5, 3.0)]).unwrap();
        assert!((got - 0.4).abs() < 1e-12, "{got}");
        // the minimum beyond the axis is held at its end
        assert_eq!(minimise(&nodes, &[at(1.5, 1.0)]), Some(0.8));
        assert_eq!(minimise(&nodes, &[]), None);
        // the cost at the minimum: 1·(0.4 − 0.1)² + 3·(0.4 − 0.5)²
        let (_, cost) = minimum(&nodes, &[at(0.1, 1.0), at(0.5, 3.0)]).unwrap();
        assert!((cost - 0.12).abs() < 1e-12, "{cost}");
    }

    #[test]
    fn dark_vegetation_residual_vanishes_on_the_relation() {
        let dv = DarkVegetation {
            slope: 0.5,
            intercept: 0.01,
        };
        let r = dv.residual(2.0, &[0.03, 0.05], &[0.04, 0.02]);
        assert_eq!(r.weight, 2.0);
        assert!(r.values[0].abs() < 1e-15 && (r.values[1] - 0.03).abs() < 1e-15);
    }
}
