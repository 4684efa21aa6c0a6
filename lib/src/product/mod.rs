//! Product models: raw L1A and L1C (layout, open, create, band list).
