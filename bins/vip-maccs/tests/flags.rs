//! Each vip-maccs subcommand takes exactly the output flags it uses: l2 writes rasters (-o,
//! --overwrite, --co), lut-build writes XML GIPPs (-o, --overwrite), lut prints on stdout and
//! l3 is not implemented (none; l3 once accepted and ignored --gipp, lut -o and --co).

#[test]
fn output_flags_only_where_they_are_used() {
    let bin = env!("CARGO_BIN_EXE_vip-maccs");
    vip_testkit::check_output_flags(bin, &["l2"], &vip_testkit::OUTPUT_FLAGS);
    vip_testkit::check_output_flags(bin, &["lut-build"], &["--output", "--overwrite"]);
    vip_testkit::check_output_flags(bin, &["lut"], &[]);
    vip_testkit::check_output_flags(bin, &["l3"], &vip_testkit::OUTPUT_FLAGS);
}
