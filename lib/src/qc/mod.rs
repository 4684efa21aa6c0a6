//! Quality control: statistics, checks and comparisons of products.

pub mod shift;
