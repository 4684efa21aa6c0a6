//! Each way of running vip-pack takes exactly the output flags it uses: packaging writes
//! rasters (-o, --overwrite, --co); verify and index write no product and refuse them (they
//! were once accepted and ignored).

#[test]
fn output_flags_only_where_they_are_used() {
    let bin = env!("CARGO_BIN_EXE_vip-pack");
    vip_testkit::check_output_flags(bin, &[], &vip_testkit::OUTPUT_FLAGS);
    vip_testkit::check_output_flags(bin, &["verify"], &[]);
    vip_testkit::check_output_flags(bin, &["index"], &[]);
}
