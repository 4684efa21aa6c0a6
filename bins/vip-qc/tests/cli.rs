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

/// vip-qc writes no product: -o and --co, once accepted and ignored, are usage errors; only
/// the report folder can be replaced, and --overwrite without --report is refused too.
#[test]
fn output_flags_ignored_by_a_subcommand_are_refused() {
    let bin = env!("CARGO_BIN_EXE_vip-qc");
    for sub in ["stats", "check", "compare", "geom", "series"] {
        vip_testkit::check_output_flags(bin, &[sub], &["--overwrite"]);
    }
    vip_testkit::run(bin, &["stats", "IN.HDR", "--overwrite"])
        .code(2)
        .one_error_line("--overwrite replaces the --report folder");
}
