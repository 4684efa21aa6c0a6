#[test]
fn common_cli_conventions() {
    vip_testkit::check_common_cli(env!("CARGO_BIN_EXE_vip-qc"), "vip-qc");
}

#[test]
fn processing_is_refused_until_implemented() {
    vip_testkit::run(env!("CARGO_BIN_EXE_vip-qc"), &["some.HDR"])
        .code(2)
        .one_error_line("not implemented");
}
