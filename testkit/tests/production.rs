//! The production drivers under Debian's ksh: `scripts/vip-chain` on one product and
//! `scripts/vip-nightly` on a simulated inbox of two sites × three dates, a corrupt product, a
//! stray file and a site without its DEM, killed with `kill -9` in the middle and run again.
//! The tools are the workspace's debug builds (`cargo test --workspace` builds them first).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use vip_testkit::project_root;

/// The folder of the built vip-* tools: beside this test's own `deps/` folder.
fn tools() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    for t in [
        "vip-sim",
        "vip-straylight",
        "vip-l1",
        "vip-maccs",
        "vip-qc",
        "vip-pack",
    ] {
        assert!(
            dir.join(t).is_file(),
            "{t} not built in {} (cargo build --bins)",
            dir.display()
        );
    }
    dir
}

fn script(name: &str) -> Command {
    let mut c = Command::new("ksh");
    c.arg(project_root().join("scripts").join(name));
    let path = format!(
        "{}:{}",
        tools().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    c.env("PATH", path);
    c
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A simulated site scene (stray light and an atmosphere, so every step has work) in `dir`.
fn simulate(dir: &Path, site: &str, date: &str) -> PathBuf {
    let out = Command::new(tools().join("vip-sim"))
        .args(["scene", "--site", site, "--date", date, "--lines", "256"])
        .args(["--cols", "256", "--straylight", "-q", "--luts"])
        .arg(project_root().join("testdata/luts"))
        .arg("-o")
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Copies the product of header `hdr` (and its .DBL.DIR) into `dest`.
fn deliver(hdr: &Path, dest: &Path) {
    let ok = Command::new("cp")
        .arg("-R")
        .arg(hdr)
        .arg(hdr.with_extension("DBL.DIR"))
        .arg(dest)
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

fn queue(work: &Path, site: &str) -> Vec<(String, String)> {
    std::fs::read_to_string(work.join("queue").join(format!("{site}.queue")))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[1].to_string(), f[2].to_string())
        })
        .collect()
}

#[test]
fn vip_chain_runs_one_product_to_its_package_and_stops_at_the_first_failing_step() {
    let tmp = tempfile::tempdir().unwrap();
    let l1a = simulate(&tmp.path().join("S"), "CHAIN", "2024-03-15");
    let out = tmp.path().join("OUT");
    let o = script("vip-chain")
        .arg(&l1a)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let package = PathBuf::from(String::from_utf8(o.stdout.clone()).unwrap().trim());
    assert!(package.join("MANIFEST.sha256").is_file(), "{}", text(&o));
    let id = l1a.file_stem().unwrap().to_str().unwrap();
    let product = out.join(id);
    for part in ["L1A", "L1C", "L2A", "DIST", "qc.json"] {
        assert!(product.join(part).exists(), "{part} missing");
    }
    assert!(!out.join(format!(".{id}.partial")).exists());
    let logs: Vec<_> = std::fs::read_dir(out.join("logs").join(id))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(logs.len(), 5, "{logs:?}");
    // the package verifies
    let v = Command::new(tools().join("vip-pack"))
        .arg("verify")
        .arg(&package)
        .output()
        .unwrap();
    assert!(v.status.success(), "{}", text(&v));

    // an existing product is not replaced
    let again = script("vip-chain")
        .arg(&l1a)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(5), "{}", text(&again));

    // a product whose images are missing: vip-straylight's exit 3, its log named, nothing kept
    let broken = tmp.path().join("BROKEN");
    std::fs::create_dir_all(broken.join("L1A")).unwrap();
    deliver(&l1a, &broken.join("L1A"));
    let dbl = broken.join("L1A").join(format!("{id}.DBL.DIR"));
    let first = std::fs::read_dir(&dbl).unwrap().next().unwrap().unwrap();
    std::fs::remove_file(first.path()).unwrap();
    let o = script("vip-chain")
        .arg(broken.join("L1A").join(format!("{id}.HDR")))
        .args(["--gipp"])
        .arg(l1a.parent().unwrap().parent().unwrap().join("GIPP"))
        .arg("--dem")
        .arg(l1a.parent().unwrap().parent().unwrap().join("DEM.tif"))
        .arg("-o")
        .arg(broken.join("OUT"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("straylight failed (exit 3)") && err.contains("1-straylight.log"));
    assert!(o.stdout.is_empty());
    assert!(!broken.join("OUT").join(id).exists());
    assert!(!broken.join("OUT").join(format!(".{id}.partial")).exists());
}

#[test]
fn vip_nightly_survives_a_kill_and_a_corrupt_product_and_does_each_product_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (inbox, work, archive, sites) = (
        tmp.path().join("inbox"),
        tmp.path().join("work"),
        tmp.path().join("archive"),
        tmp.path().join("sites"),
    );
    std::fs::create_dir_all(&inbox).unwrap();
    let mut good = Vec::new();
    for site in ["SITEA", "SITEB"] {
        for date in ["2024-03-15", "2024-03-17", "2024-03-19"] {
            let scene = tmp.path().join(format!("sim-{site}-{date}"));
            let l1a = simulate(&scene, site, date);
            deliver(&l1a, &inbox);
            good.push(l1a.file_stem().unwrap().to_str().unwrap().to_string());
            let res = sites.join(site);
            if !res.exists() {
                std::fs::create_dir_all(&res).unwrap();
                for f in ["GIPP", "DEM.tif", "site.json"] {
                    let ok = Command::new("cp")
                        .arg("-R")
                        .arg(scene.join(f))
                        .arg(&res)
                        .status()
                        .unwrap()
                        .success();
                    assert!(ok);
                }
            }
        }
    }
    // a corrupt product of SITEA between two good dates: its header cut in half
    let scene = tmp.path().join("sim-corrupt");
    let l1a = simulate(&scene, "SITEA", "2024-03-16");
    deliver(&l1a, &inbox);
    let corrupt = l1a.file_stem().unwrap().to_str().unwrap().to_string();
    let hdr = inbox.join(format!("{corrupt}.HDR"));
    let bytes = std::fs::read(&hdr).unwrap();
    std::fs::write(&hdr, &bytes[..bytes.len() / 2]).unwrap();
    // a stray file, and a product of a site that has no DEM
    std::fs::write(inbox.join("notes.HDR"), "not a product").unwrap();
    let l1a = simulate(&tmp.path().join("sim-nodem"), "SITEC", "2024-03-15");
    deliver(&l1a, &inbox);
    let waiting = l1a.file_stem().unwrap().to_str().unwrap().to_string();
    std::fs::create_dir_all(sites.join("SITEC/GIPP")).unwrap();

    let nightly = || {
        let mut c = script("vip-nightly");
        c.arg("--inbox").arg(&inbox).arg("--work").arg(&work);
        c.arg("--archive").arg(&archive).arg("--sites").arg(&sites);
        c.args(["--jobs", "2", "--threads", "1"]);
        c
    };

    // 1. Killed with kill -9 (the whole process group, as a crash would) while products run.
    use std::os::unix::process::CommandExt;
    let child = nightly()
        .process_group(0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let start = Instant::now();
    loop {
        let states: Vec<String> = ["SITEA", "SITEB"]
            .iter()
            .flat_map(|s| queue(&work, s))
            .map(|(_, st)| st)
            .collect();
        if states.iter().any(|s| s == "DONE") && states.iter().any(|s| s == "RUNNING") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "no progress: {states:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let killed = Command::new("kill")
        .args(["-9", "--", &format!("-{pid}")])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut child = child;
    child.wait().unwrap();
    let running: Vec<_> = ["SITEA", "SITEB"]
        .iter()
        .flat_map(|s| queue(&work, s))
        .filter(|(_, st)| st == "RUNNING")
        .collect();
    assert!(!running.is_empty(), "the kill came after the work");

    // 2. The next run resumes: every good product DONE, the corrupt one FAIL with its log.
    let o = nightly().output().unwrap();
    let summary = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let a = queue(&work, "SITEA");
    let b = queue(&work, "SITEB");
    for id in &good {
        let st = a
            .iter()
            .chain(&b)
            .find(|(i, _)| i == id)
            .map(|(_, s)| s.as_str());
        assert_eq!(st, Some("DONE"), "{id}\n{summary}");
    }
    assert!(a.contains(&(corrupt.clone(), "FAIL".into())), "{a:?}");
    assert!(
        summary.contains("SITEA: QUEUED 0 RUNNING 0 DONE 3 FAIL 1"),
        "{summary}"
    );
    assert!(
        summary.contains("SITEB: QUEUED 0 RUNNING 0 DONE 3 FAIL 0"),
        "{summary}"
    );
    assert!(summary.contains(&format!("FAIL {corrupt}: ")), "{summary}");
    let log = work.join("logs/SITEA").join(format!("{corrupt}.log"));
    assert!(summary.contains(log.to_str().unwrap()), "{summary}");
    assert!(summary.contains("left RUNNING by an interrupted run, requeued"));
    assert!(
        summary.contains("notes.HDR: an inbox entry that is not a raw L1A header"),
        "{summary}"
    );
    assert!(summary.contains("SITEC: not run, no DEM"), "{summary}");
    assert_eq!(queue(&work, "SITEC"), vec![(waiting, "QUEUED".into())]);
    assert!(summary.contains("total: 6 of 8 DONE"), "{summary}");

    // Each good product finished exactly once (the history has one success per product) and
    // has exactly one package in the archive; nothing half-copied stays.
    let history = std::fs::read_to_string(work.join("history")).unwrap();
    for id in &good {
        let ok = history
            .lines()
            .filter(|l| l.contains(id.as_str()) && l.ends_with(" 0"))
            .count();
        assert_eq!(ok, 1, "{id}:\n{history}");
    }
    for site in ["SITEA", "SITEB"] {
        let names: Vec<String> = std::fs::read_dir(archive.join(site))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(
            names.iter().all(|n| n.starts_with("VENUS-XS_")),
            "{names:?}"
        );
    }

    // 3. A third run has nothing to redo; a second concurrent run is kept out.
    let o = nightly().output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(work.join("history")).unwrap(),
        history
    );
    let mut holder = Command::new("flock")
        .arg(work.join("nightly.lock"))
        .args(["sleep", "30"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let o = nightly().output().unwrap();
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(o.status.code(), Some(75), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("another vip-nightly run is in progress"));

    // 4. The operator requeues the corrupt product once it is fixed: it is then done.
    let name = format!("{corrupt}.HDR");
    std::fs::copy(
        scene.join("L1A").join(&name),
        work.join("incoming/SITEA").join(&name),
    )
    .unwrap();
    let o = script("vip-nightly")
        .arg("--work")
        .arg(&work)
        .args(["--requeue", &corrupt])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let o = nightly().output().unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("SITEA: QUEUED 0 RUNNING 0 DONE 4 FAIL 0"),
        "{}",
        text(&o)
    );
}

#[test]
fn every_script_is_shellcheck_clean_as_ksh() {
    let dir = project_root().join("scripts");
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let head = std::fs::read_to_string(p).unwrap_or_default();
            p.is_file()
                && head
                    .lines()
                    .next()
                    .is_some_and(|l| l.starts_with("#!") && l.ends_with("sh"))
        })
        .collect();
    scripts.push(dir.join("lib/deps.sh"));
    scripts.sort();
    assert!(scripts.len() >= 8, "{scripts:?}");
    let o = Command::new("shellcheck")
        .current_dir(project_root())
        .args(["-s", "ksh", "-x"])
        .args(&scripts)
        .output()
        .expect("shellcheck (Debian: shellcheck)");
    assert!(o.status.success(), "{}", text(&o));
}
