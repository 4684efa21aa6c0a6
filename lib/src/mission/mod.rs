//! Mission constants. VENµS now; other missions later as sibling modules.

pub mod venus;
