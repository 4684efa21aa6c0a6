#[test]
fn common_cli_conventions() {
    vip_testkit::check_common_cli(env!("CARGO_BIN_EXE_vip-qc"), "vip-qc");
}

#[test]
fn every_subcommand_has_examples() {
    for sub in ["stats", "check", "compare", "geom", "series"] {
        vip_testkit::run(env!("CARGO_BIN_EXE_vip-qc"), &[sub, "--help"])
            .code(0)
            .stdout_has("EXAMPLES:")
            .stdout_has("--json")
            .stdout_has(&format!("vip-qc {sub} "))
            .stdout_has("--report");
    }
}

#[test]
fn no_subcommand_is_a_usage_error() {
    vip_testkit::run(env!("CARGO_BIN_EXE_vip-qc"), &["some.HDR"]).code(2);
}
