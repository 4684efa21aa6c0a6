//! vip-sim scene writes rasters: it takes -o, --overwrite and --co (after `scene`).

#[test]
fn output_flags() {
    vip_testkit::check_output_flags(
        env!("CARGO_BIN_EXE_vip-sim"),
        &["scene"],
        &vip_testkit::OUTPUT_FLAGS,
    );
}
