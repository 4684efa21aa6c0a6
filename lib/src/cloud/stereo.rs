//! Cloud altitude from the parallax between the two 620 nm bands (B05, B06), as the VENµS L1
//! chain measured it (CLOUDD GIPP).
