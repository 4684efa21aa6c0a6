//! Clouds, their shadows, snow and water: the L1 stereo cloud altitude (B05/B06 parallax) and
//! the L2 masks (mono- and multi-temporal tests against the site's context).

pub mod mask;
pub mod shadow;
pub mod stereo;
pub mod texture;
