//! The per-site L2 history (MAJA's private L2 data): the composite of the last clear
//! observation per pixel, its dates, the stack of recent blue reflectances, the last cloud
//! mask and altitude and the water history; read by the next date, updated atomically.
