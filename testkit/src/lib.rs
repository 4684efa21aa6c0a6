//! What the vip-* integration tests share: run the real binary, check its exit status, the
//! paths it prints on stdout and the one-line message on stderr; the checks every tool must pass.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub mod chromium;

/// The project root (for `man/`, `testdata/`, `scripts/`).
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// One finished run of a tool.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit status, showing the output when it differs.
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code, expected,
            "exit status\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Asserts that stderr holds `needle`.
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }

    /// Asserts that stdout holds `needle`.
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{}",
            self.stdout
        );
        self
    }

    /// Asserts a failure told in exactly one ERROR line that contains `needle`.
    pub fn one_error_line(&self, needle: &str) -> &Self {
        let errors: Vec<_> = self
            .stderr
            .lines()
            .filter(|l| l.contains(" ERROR "))
            .collect();
        assert_eq!(errors.len(), 1, "expected one ERROR line:\n{}", self.stderr);
        assert!(
            errors[0].contains(needle),
            "ERROR line lacks {needle:?}: {}",
            errors[0]
        );
        self
    }

    /// Asserts a refusal of hostile input: exit 3, one ERROR line holding `needle`, and a
    /// stderr short whatever the input held (under 1200 bytes).
    pub fn refused(&self, needle: &str) -> &Self {
        self.code(3).one_error_line(needle);
        assert!(
            self.stderr.len() < 1200,
            "{} bytes of stderr",
            self.stderr.len()
        );
        self
    }

    /// The paths printed on stdout, one per line.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.stdout
            .lines()
            .filter(|l| !l.is_empty())
            .map(PathBuf::from)
            .collect()
    }
}

/// The XML header at `header` with a billion-laughs DTD (ten levels of ten) and its last
/// entity in the `File_Name` text: a reader that expands entities would need gigabytes.
pub fn billion_laughs(header: &Path) -> String {
    let text = std::fs::read_to_string(header).unwrap();
    let mut dtd = String::from("<!DOCTYPE Earth_Explorer_Header [<!ENTITY l0 \"lol\">");
    for i in 1..10 {
        let refs = format!("&l{};", i - 1).repeat(10);
        dtd.push_str(&format!("<!ENTITY l{i} \"{refs}\">"));
    }
    dtd.push_str("]>\n");
    let text = text.replacen("?>\n", &format!("?>\n{dtd}"), 1);
    let text = text.replacen("<File_Name>", "<File_Name>&l9;", 1);
    assert!(text.contains("&l9;") && text.contains("ENTITY l9"));
    text
}

/// Replaces the raster `image` by its top-left `cols` × `lines` window (gdal_translate), to make
/// a product whose image is smaller than its header says.
pub fn crop_in_place(image: &Path, cols: usize, lines: usize) {
    let cropped = image.with_extension("cropped.tif");
    let ok = Command::new("gdal_translate")
        .args(["-q", "-srcwin", "0", "0"])
        .args([cols.to_string(), lines.to_string()])
        .arg(image)
        .arg(&cropped)
        .status()
        .expect("gdal_translate (Debian: gdal-bin)")
        .success();
    assert!(ok, "gdal_translate could not crop {}", image.display());
    std::fs::rename(&cropped, image).unwrap();
}

/// Runs `bin` with `args` and no stdin.
pub fn run<S: AsRef<std::ffi::OsStr>>(bin: &str, args: &[S]) -> Run {
    run_with_stdin(bin, args, "")
}

/// Runs `bin` with `args`, feeding `stdin`.
pub fn run_with_stdin<S: AsRef<std::ffi::OsStr>>(bin: &str, args: &[S], stdin: &str) -> Run {
    use std::io::Write;
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out: Output = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The checks every tool passes (DESIGN.md §4): `--help` with EXAMPLES and the common flags
/// (the output flags are a (sub)command's own: see [`check_output_flags`]),
/// `--version` naming GDAL and PROJ, usage errors exit 2, and a committed man page that is
/// exactly what the clap definition generates.
pub fn check_common_cli(bin: &str, name: &str) {
    let help = run(bin, &["--help"]);
    help.code(0).stdout_has("EXAMPLES:").stdout_has(name);
    for flag in [
        "--threads",
        "--ram",
        "--quiet",
        "--verbose",
        "--progress",
        "--no-progress",
        "--config",
    ] {
        help.stdout_has(flag);
    }
    let version = run(bin, &["--version"]);
    version.code(0).stdout_has("GDAL ").stdout_has("PROJ ");
    run(bin, &["--no-such-flag"]).code(2);
    let fresh = tempfile::tempdir().unwrap();
    run(bin, &["--generate-man", fresh.path().to_str().unwrap()]).code(0);
    let mut pages: Vec<_> = std::fs::read_dir(fresh.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    pages.sort();
    assert!(
        pages.iter().any(|p| p.ends_with(format!("{name}.1"))),
        "no {name}.1 generated"
    );
    for page in pages {
        let committed = project_root().join("man").join(page.file_name().unwrap());
        assert!(
            std::fs::read(&committed).ok() == std::fs::read(&page).ok(),
            "{} is stale or missing: run scripts/man and commit the result",
            committed.display()
        );
    }
}

/// The flags that say where and how outputs are written.
pub const OUTPUT_FLAGS: [&str; 3] = ["--output", "--overwrite", "--co"];

/// `bin sub...` lists in its help exactly the output flags `takes` (of [`OUTPUT_FLAGS`]) and
/// refuses each other one with clap's usage error (exit 2): a flag it would ignore is not
/// accepted.
pub fn check_output_flags(bin: &str, sub: &[&str], takes: &[&str]) {
    let mut help_args = sub.to_vec();
    help_args.push("--help");
    let help = run(bin, &help_args);
    help.code(0);
    for flag in OUTPUT_FLAGS {
        let listed =
            help.stdout.contains(&format!("{flag} ")) || help.stdout.contains(&format!("{flag}\n"));
        let taken = takes.contains(&flag);
        assert_eq!(
            listed, taken,
            "{bin} {sub:?} --help lists {flag}: {listed}\n{}",
            help.stdout
        );
        if taken {
            continue;
        }
        let mut args = sub.to_vec();
        args.extend(match flag {
            "--output" => vec!["-o", "OUT"],
            "--co" => vec!["--co", "COMPRESS=NONE"],
            f => vec![f],
        });
        let short = if flag == "--output" { "-o" } else { flag };
        run(bin, &args)
            .code(2)
            .stderr_has(&format!("unexpected argument '{short}' found"));
    }
}

/// Every file below `dir`, sorted.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Asserts that the trees below `a` and `b` hold the same files with the same bytes.
pub fn assert_same_tree(a: &Path, b: &Path) {
    let (fa, fb) = (files(a), files(b));
    assert_eq!(
        fa.len(),
        fb.len(),
        "{} and {} differ",
        a.display(),
        b.display()
    );
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(x.strip_prefix(a).unwrap(), y.strip_prefix(b).unwrap());
        assert!(
            std::fs::read(x).unwrap() == std::fs::read(y).unwrap(),
            "{} differs",
            x.display()
        );
    }
}

/// Band `band` (1-based) of a raster, as f64, with its width and height.
pub fn read_band(path: &Path, band: usize) -> (Vec<f64>, usize, usize) {
    let ds = vip::raster::open(path).unwrap();
    let (w, h) = ds.raster_size();
    (
        vip::raster::read_window::<f64>(&ds, band, (0, 0), (w, h)).unwrap(),
        w,
        h,
    )
}

/// A simulated scene (vip-sim's layout) in a temporary folder that lives as long as it does.
pub struct SimScene {
    tmp: tempfile::TempDir,
    /// The scene folder.
    pub dir: PathBuf,
    /// The raw L1A header.
    pub l1a: PathBuf,
}

impl SimScene {
    /// Simulates `lines` × `cols` site pixels of `site` on `date` (10:30 UTC).
    pub fn new(
        site: &str,
        date: &str,
        lines: u32,
        cols: u32,
        seed: u64,
        relief_m: f64,
    ) -> SimScene {
        let spec =
            vip::sim::SceneSpec::new(site, date, "10:30:00", lines, cols, seed, relief_m).unwrap();
        SimScene::of(spec)
    }

    /// Simulates the scene `spec` describes.
    pub fn of(spec: vip::sim::SceneSpec) -> SimScene {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("S");
        let opts = vip::cli::Options {
            ram_bytes: 4 << 30,
            output: dir.clone(),
            threads: 2,
            ..Default::default()
        };
        let l1a = vip::sim::write_scene(&spec, &opts).unwrap().remove(0);
        SimScene { tmp, dir, l1a }
    }

    /// A path in the temporary folder, beside the scene.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    pub fn gipp(&self) -> PathBuf {
        self.dir.join("GIPP")
    }

    pub fn dem(&self) -> PathBuf {
        self.dir.join("DEM.tif")
    }

    pub fn site_json(&self) -> PathBuf {
        self.dir.join("site.json")
    }

    /// The L1C of this scene on its site grid, made by the library into the scratch folder
    /// `L1C`; returns its header.
    pub fn l1c(&self) -> PathBuf {
        vip::level1::process(
            &self.l1a,
            &self.gipp(),
            &self.dem(),
            &vip::level1::L1Options {
                site: Some(self.site_json()),
                ..Default::default()
            },
            &vip::cli::Options {
                output: self.scratch("L1C"),
                threads: 2,
                ..Default::default()
            },
        )
        .unwrap()
    }

    /// vip-l1 arguments for this scene's L1A with `gipp` and `dem`, into `out`, plus `extra`.
    pub fn l1_args(&self, gipp: &Path, dem: &Path, out: &Path, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            &self.l1a,
            Path::new("--gipp"),
            gipp,
            Path::new("--dem"),
            dem,
            Path::new("-o"),
            out,
        ]
        .iter()
        .map(|p| p.display().to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }
}

/// Largest span of a 5 × 5 truth neighbourhood counted as smooth: this reflectance or this
/// share of the pixel's, whichever is larger (canopies' texture in the near infrared spans more
/// than 0.02 within a field; edges span far more). Across the simulated world's pixel-sharp
/// edges (shores, field borders, roofs) an L1C departs from the truth by a share of the contrast
/// (the resampling kernel), which no later processing undoes: accuracy is scored where the
/// truth is smooth at that kernel's scale.
pub const SMOOTH: (f64, f64) = (0.02, 0.1);

/// `keep` (row-major, `width` columns), less the pixels whose 5 × 5 neighbourhood in `truth`
/// is not smooth ([`SMOOTH`]) or leaves the image.
pub fn smooth(keep: &[bool], truth: &[f64], width: usize) -> Vec<bool> {
    let height = keep.len() / width;
    (0..keep.len())
        .map(|i| {
            let (r, c) = (i / width, i % width);
            if !keep[i] || r < 2 || c < 2 || r + 2 >= height || c + 2 >= width {
                return false;
            }
            let near =
                (r - 2..=r + 2).flat_map(|y| (c - 2..=c + 2).map(move |x| truth[y * width + x]));
            let span = near.clone().fold(f64::MIN, f64::max) - near.fold(f64::MAX, f64::min);
            span < SMOOTH.0.max(SMOOTH.1 * truth[i])
        })
        .collect()
}

/// A simulated series (`vip::sim::series`, clouds drawn per date) with the L1C of each date,
/// in a temporary folder that lives as long as it does.
pub struct SimSeries {
    _tmp: tempfile::TempDir,
    /// The series folder (one scene folder per date).
    pub root: PathBuf,
    /// Per date: scene folder and L1C header, oldest first.
    pub dates: Vec<(PathBuf, PathBuf)>,
}

impl SimSeries {
    /// Simulates `base` on each date of `dates` (comma-separated YYYY-MM-DD) and makes the L1Cs.
    pub fn new(base: vip::sim::SceneSpec, dates: &str) -> SimSeries {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("SER");
        let spec = vip::sim::series::SeriesSpec {
            base,
            dates: vip::sim::series::dates_of_list(dates).unwrap(),
            clouds: true,
        };
        let opts = |out: PathBuf| vip::cli::Options {
            output: out,
            threads: 2,
            ..Default::default()
        };
        let l1a = vip::sim::series::write_series(&spec, &opts(root.clone())).unwrap();
        let dates = l1a
            .iter()
            .map(|a| {
                let scene = a.parent().unwrap().parent().unwrap().to_path_buf();
                let l1c = vip::level1::process(
                    a,
                    &scene.join("GIPP"),
                    &scene.join("DEM.tif"),
                    &vip::level1::L1Options {
                        site: Some(scene.join("site.json")),
                        ..Default::default()
                    },
                    &opts(tmp.path().join("L1C")),
                )
                .unwrap();
                (scene, l1c)
            })
            .collect();
        SimSeries {
            _tmp: tmp,
            root,
            dates,
        }
    }

    /// A path in the temporary folder, beside the series.
    pub fn scratch(&self, name: &str) -> PathBuf {
        self.root.parent().unwrap().join(name)
    }

    /// The GIPP folder of the first date (the series shares its GIPPs).
    pub fn gipp(&self) -> PathBuf {
        self.dates[0].0.join("GIPP")
    }

    /// `bin` (vip-maccs) `l2` on `l1cs` with the context `ctx`, `extra` flags, into `out`.
    pub fn l2(&self, bin: &str, l1cs: &[&PathBuf], ctx: &Path, out: &Path, extra: &[&str]) -> Run {
        let scene = &self.dates[0].0;
        let mut args: Vec<String> = vec!["l2".into()];
        args.extend(l1cs.iter().map(|p| p.display().to_string()));
        for (flag, value) in [
            ("--gipp", scene.join("GIPP")),
            ("--dem", scene.join("DEM.tif")),
            ("--context", ctx.to_path_buf()),
            ("-o", out.to_path_buf()),
        ] {
            args.push(flag.into());
            args.push(value.display().to_string());
        }
        args.extend(["-q", "--threads", "2"].map(String::from));
        args.extend(extra.iter().map(|s| s.to_string()));
        run(bin, &args)
    }
}

/// The Python of the test oracles (`$VIP_PYTHON`, default `.venv/bin/python` at the project
/// root, made by `scripts/test`). Missing, it fails the test: an oracle never silently skips.
pub fn python() -> PathBuf {
    let p = std::env::var_os("VIP_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join(".venv/bin/python"));
    assert!(
        p.exists(),
        "{} is missing: scripts/test creates the oracles' virtual environment",
        p.display()
    );
    p
}

/// Runs a Python oracle script with `args` and returns its stdout (it must succeed).
pub fn python_oracle(script: &str, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "python oracle failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Copies the file or folder `from` to `to` (folders with everything in them).
pub fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap().path();
            copy_tree(&e, &to.join(e.file_name().unwrap()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

/// Checks cases of a committed 6S table against 6S run now: `script` prints one TOA
/// reflectance per argument line, `cases` pairs each argument line with its (description,
/// committed TOA); they must agree within 1e-6.
pub fn rerun_6s(script: &str, cases: &[(String, String, f64)]) {
    let args: Vec<&str> = cases.iter().map(|c| c.0.as_str()).collect();
    let out = python_oracle(script, &args);
    let live: Vec<f64> = out.lines().map(|l| l.trim().parse().unwrap()).collect();
    assert_eq!(live.len(), cases.len());
    for ((_, what, toa), t) in cases.iter().zip(live) {
        assert!(
            (t - toa).abs() < 1e-6,
            "case {what}: 6S gives {t} now, the table says {toa}"
        );
    }
}

/// The stac-validator schema config that maps the official STAC schemas to the local copies
/// `scripts/lib/deps.sh` lays out (`$VIP_STAC_SCHEMAS`, default `.venv/stac-schemas`).
/// Missing, it fails the test.
pub fn stac_schema_config() -> PathBuf {
    let dir = std::env::var_os("VIP_STAC_SCHEMAS")
        .map(PathBuf::from)
        .unwrap_or_else(|| project_root().join(".venv/stac-schemas"));
    let p = dir.join("schema-config.json");
    assert!(
        p.exists(),
        "{} is missing: scripts/test lays out the STAC schemas (vip_stac_schemas)",
        p.display()
    );
    p
}

/// Runs stac-validator (from the oracles' virtual environment) on the STAC JSON `doc`, against
/// the local official schemas only; `unchecked` extensions (no schema to be had offline) are
/// taken out of `stac_extensions` first. Returns whether it is valid and the report.
pub fn stac_validate(doc: &serde_json::Value, unchecked: &[&str]) -> (bool, serde_json::Value) {
    let mut doc = doc.clone();
    if let Some(exts) = doc
        .get_mut("stac_extensions")
        .and_then(serde_json::Value::as_array_mut)
    {
        exts.retain(|e| !unchecked.iter().any(|u| e == u));
    }
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("doc.json");
    std::fs::write(&path, serde_json::to_string(&doc).unwrap()).unwrap();
    let validator = python().with_file_name("stac-validator");
    let out = Command::new(&validator)
        .arg("validate")
        .arg(&path)
        .arg("--schema-config")
        .arg(stac_schema_config())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", validator.display()));
    let text = String::from_utf8_lossy(&out.stdout);
    // The JSON report is the array between notices ("Please upgrade ...", timings).
    let start = text.find("\n[").map_or(0, |i| i + 1);
    let end = text.rfind("\n]").map_or(text.len(), |i| i + 2);
    let report: serde_json::Value = serde_json::from_str(&text[start..end]).unwrap_or_else(|e| {
        panic!(
            "stac-validator gave no JSON report ({e}):\n{text}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let valid = report[0]["valid_stac"].as_bool() == Some(true);
    (valid && out.status.success(), report)
}

/// Writes at `path` a zip that passes for a MUSCATE package (`PKG/PKG_MTD_ALL.xml`) but holds
/// an entry escaping its folder (`PKG/../../escape.tif`): a reader must refuse it unread.
pub fn escaping_zip(path: &Path) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let o = zip::write::SimpleFileOptions::default();
    z.start_file("PKG/PKG_MTD_ALL.xml", o).unwrap();
    std::io::Write::write_all(&mut z, b"<x/>").unwrap();
    z.start_file("PKG/../../escape.tif", o).unwrap();
    std::io::Write::write_all(&mut z, b"x").unwrap();
    z.finish().unwrap();
}
