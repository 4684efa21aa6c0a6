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

/// A simulated site scene (stray light and an atmosphere, so every step has work) in `dir`,
/// named `site` and placed where vip-sim's default site is.
fn simulate(dir: &Path, site: &str, date: &str) -> PathBuf {
    let (lon, lat) = vip::sim::sites::DEFAULT_LONLAT;
    let out = Command::new(tools().join("vip-sim"))
        .args(["scene", "--site", site, "--date", date, "--lines", "256"])
        .args(["--lat", &lat.to_string(), "--lon", &lon.to_string()])
        .args(["--cols", "256", "--straylight", "-q", "--luts"])
        .arg(project_root().join("testdata/luts"))
        .arg("-o")
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Copies the product of header `hdr` (and its .DBL.DIR) into `dest`, with the auxiliary
/// data beside it (the simulator's L1A folder holds one product and its auxiliary data).
fn deliver(hdr: &Path, dest: &Path) {
    let folder = hdr.parent().unwrap();
    let ok = Command::new("cp")
        .arg("-R")
        .args(
            std::fs::read_dir(folder)
                .unwrap()
                .map(|e| e.unwrap().path()),
        )
        .arg(dest)
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

/// Copies `parts` of a simulated scene (GIPP/, DEM.tif, site.json) into the site folder
/// `sites/SITE`, unless it exists already.
fn stock_site(scene: &Path, sites: &Path, site: &str, parts: &[&str]) {
    let res = sites.join(site);
    if res.exists() {
        return;
    }
    std::fs::create_dir_all(&res).unwrap();
    for f in parts {
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

/// A simulated production inbox: SITEA and SITEB with three good dates each, a corrupt SITEA
/// product between two good dates (its header cut in half), a stray file, and a product of
/// SITEC, whose site folder has no DEM.
struct Inbox {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    good: Vec<String>,
    corrupt: String,
    waiting: String,
}

impl Inbox {
    fn new() -> Inbox {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let (inbox, sites) = (root.join("inbox"), root.join("sites"));
        std::fs::create_dir_all(&inbox).unwrap();
        let mut good = Vec::new();
        for site in ["SITEA", "SITEB"] {
            for date in ["2024-03-15", "2024-03-17", "2024-03-19"] {
                let scene = root.join(format!("sim-{site}-{date}"));
                let l1a = simulate(&scene, site, date);
                deliver(&l1a, &inbox);
                good.push(l1a.file_stem().unwrap().to_str().unwrap().to_string());
                stock_site(&scene, &sites, site, &["GIPP", "DEM.tif", "site.json"]);
            }
        }
        let l1a = simulate(&root.join("sim-corrupt"), "SITEA", "2024-03-16");
        deliver(&l1a, &inbox);
        let corrupt = l1a.file_stem().unwrap().to_str().unwrap().to_string();
        let hdr = inbox.join(format!("{corrupt}.HDR"));
        let bytes = std::fs::read(&hdr).unwrap();
        std::fs::write(&hdr, &bytes[..bytes.len() / 2]).unwrap();
        std::fs::write(inbox.join("notes.HDR"), "not a product").unwrap();
        let l1a = simulate(&root.join("sim-nodem"), "SITEC", "2024-03-15");
        deliver(&l1a, &inbox);
        let waiting = l1a.file_stem().unwrap().to_str().unwrap().to_string();
        std::fs::create_dir_all(sites.join("SITEC/GIPP")).unwrap();
        Inbox {
            _tmp: tmp,
            root,
            good,
            corrupt,
            waiting,
        }
    }

    fn work(&self) -> PathBuf {
        self.root.join("work")
    }

    /// vip-nightly on this inbox, two sites at a time, with `extra` arguments.
    fn nightly(&self, extra: &[&str]) -> Command {
        let mut c = script("vip-nightly");
        c.arg("--inbox").arg(self.root.join("inbox"));
        c.arg("--work").arg(self.work());
        c.arg("--archive").arg(self.root.join("archive"));
        c.arg("--sites").arg(self.root.join("sites"));
        c.args(["--jobs", "2", "--threads", "1"]).args(extra);
        c
    }

    /// The states every scheduler must end in, and the summary that says so.
    fn check_outcome(&self, summary: &str) {
        let work = self.work();
        let a = queue(&work, "SITEA");
        let b = queue(&work, "SITEB");
        for id in &self.good {
            let st = a
                .iter()
                .chain(&b)
                .find(|(i, _)| i == id)
                .map(|(_, s)| s.as_str());
            assert_eq!(st, Some("DONE"), "{id}\n{summary}");
        }
        assert!(a.contains(&(self.corrupt.clone(), "FAIL".into())), "{a:?}");
        assert!(
            summary.contains("SITEA: QUEUED 0 RUNNING 0 DONE 3 FAIL 1"),
            "{summary}"
        );
        assert!(
            summary.contains("SITEB: QUEUED 0 RUNNING 0 DONE 3 FAIL 0"),
            "{summary}"
        );
        assert!(
            summary.contains(&format!("FAIL {}: ", self.corrupt)),
            "{summary}"
        );
        let log = work
            .join("logs/SITEA")
            .join(format!("{}.log", self.corrupt));
        assert!(summary.contains(log.to_str().unwrap()), "{summary}");
        assert!(
            summary.contains("notes.HDR: an inbox entry that is not a raw L1A header"),
            "{summary}"
        );
        assert!(summary.contains("SITEC: not run, no DEM"), "{summary}");
        assert_eq!(
            queue(&work, "SITEC"),
            vec![(self.waiting.clone(), "QUEUED".into())]
        );
        assert!(summary.contains("total: 6 of 8 DONE"), "{summary}");
        // Each good product finished exactly once (the history has one success per product)
        // and has exactly one package in the archive; nothing half-copied stays.
        let history = std::fs::read_to_string(work.join("history")).unwrap();
        for id in &self.good {
            let ok = history
                .lines()
                .filter(|l| l.contains(id.as_str()) && l.ends_with(" 0"))
                .count();
            assert_eq!(ok, 1, "{id}:\n{history}");
        }
        for site in ["SITEA", "SITEB"] {
            let names: Vec<String> = std::fs::read_dir(self.root.join("archive").join(site))
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            assert_eq!(names.len(), 3, "{names:?}");
            assert!(
                names.iter().all(|n| n.starts_with("VENUS-XS_")),
                "{names:?}"
            );
        }
    }
}

#[test]
fn vip_nightly_survives_a_kill_and_a_corrupt_product_and_does_each_product_once() {
    let inbox = Inbox::new();
    let work = inbox.work();
    let nightly = || inbox.nightly(&[]);
    let corrupt = inbox.corrupt.clone();

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
    // Every process of the killed run gone (a killed child may still be exiting, holding the
    // run's lock, on a loaded machine) before the next run starts.
    let gone = Instant::now();
    while Command::new("kill")
        .args(["-0", "--", &format!("-{pid}")])
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap()
        .success()
    {
        assert!(
            gone.elapsed() < Duration::from_secs(60),
            "killed run still alive"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let running: Vec<_> = ["SITEA", "SITEB"]
        .iter()
        .flat_map(|s| queue(&work, s))
        .filter(|(_, st)| st == "RUNNING")
        .collect();
    assert!(!running.is_empty(), "the kill came after the work");

    // 2. The next run resumes: every good product DONE once, the corrupt one FAIL with its log.
    let o = nightly().output().unwrap();
    let summary = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(summary.contains("left RUNNING by an interrupted run, requeued"));
    inbox.check_outcome(&summary);
    let history = std::fs::read_to_string(work.join("history")).unwrap();

    // 3. A third run has nothing to redo; a second concurrent run is kept out.
    let o = nightly().output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(work.join("history")).unwrap(),
        history
    );
    // (flock -o: the lock belongs to flock itself, so killing it frees the lock)
    let mut holder = Command::new("flock")
        .arg("-o")
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
        inbox.root.join("sim-corrupt/L1A").join(&name),
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

/// A one-node Slurm cluster on localhost (Debian's munged, slurmctld and slurmd), with its own
/// MUNGE key, ports, state and logs in a temporary folder; stopped when dropped.
struct Slurm {
    dir: tempfile::TempDir,
}

impl Slurm {
    fn start() -> Slurm {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        use std::os::unix::fs::PermissionsExt;
        for sub in ["munge", "state", "spool", "log"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
        let key: Vec<u8> = (0..1024u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        std::fs::write(d.join("munge/munge.key"), key).unwrap();
        std::fs::set_permissions(d.join("munge"), std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(
            d.join("munge/munge.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        let socket = d.join("munge/munge.socket");
        let ok = Command::new("/usr/sbin/munged")
            .arg("-f")
            .arg(format!("--socket={}", socket.display()))
            .arg(format!(
                "--key-file={}",
                d.join("munge/munge.key").display()
            ))
            .arg(format!("--log-file={}", d.join("log/munged.log").display()))
            .arg(format!(
                "--pid-file={}",
                d.join("munge/munged.pid").display()
            ))
            .arg(format!("--seed-file={}", d.join("munge/seed").display()))
            .status()
            .expect("munged (Debian: munge)")
            .success();
        assert!(ok, "munged did not start");
        let free_port = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        let host = String::from_utf8(Command::new("hostname").output().unwrap().stdout).unwrap();
        let host = host.trim();
        let p = |name: &str| d.join(name).display().to_string();
        let conf = format!(
            "ClusterName=vip\nSlurmctldHost={host}(127.0.0.1)\nSlurmUser=root\nSlurmdUser=root\n\
             AuthType=auth/munge\nAuthInfo=socket={}\nCredType=cred/munge\n\
             StateSaveLocation={}\nSlurmdSpoolDir={}\nSlurmctldPidFile={}\nSlurmdPidFile={}\n\
             SlurmctldLogFile={}\nSlurmdLogFile={}\nSlurmctldPort={}\nSlurmdPort={}\n\
             ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n\
             SelectType=select/cons_tres\nSelectTypeParameters=CR_Core\nReturnToService=2\n\
             MpiDefault=none\nSwitchType=switch/none\nJobCompType=jobcomp/none\n\
             AccountingStorageType=accounting_storage/none\nJobAcctGatherType=jobacct_gather/none\n\
             KillWait=5\n\
             NodeName=vipnode NodeHostname={host} NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN\n\
             PartitionName=main Nodes=vipnode Default=YES MaxTime=INFINITE State=UP\n",
            socket.display(),
            p("state"),
            p("spool"),
            p("slurmctld.pid"),
            p("slurmd.pid"),
            p("log/slurmctld.log"),
            p("log/slurmd.log"),
            free_port(),
            free_port(),
        );
        std::fs::write(d.join("slurm.conf"), conf).unwrap();
        let cluster = Slurm { dir };
        let ok = cluster
            .cmd("/usr/sbin/slurmctld")
            .arg("-c")
            .status()
            .unwrap()
            .success();
        assert!(ok, "slurmctld did not start");
        let ok = cluster
            .cmd("/usr/sbin/slurmd")
            .args(["-N", "vipnode"])
            .status()
            .unwrap()
            .success();
        assert!(ok, "slurmd did not start");
        let start = Instant::now();
        loop {
            let o = cluster
                .cmd("sinfo")
                .args(["-h", "-o", "%T"])
                .output()
                .unwrap();
            if String::from_utf8_lossy(&o.stdout).trim() == "idle" {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the node never came up: {}",
                text(&o)
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        cluster
    }

    fn conf(&self) -> PathBuf {
        self.dir.path().join("slurm.conf")
    }

    /// A Slurm command (daemon or client) talking to this cluster.
    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", self.conf());
        c
    }
}

impl Drop for Slurm {
    fn drop(&mut self) {
        let _ = self.cmd("scontrol").arg("shutdown").status();
        let socket = self.dir.path().join("munge/munge.socket");
        let _ = Command::new("/usr/sbin/munged")
            .arg("-s")
            .arg(format!("--socket={}", socket.display()))
            .status();
    }
}

#[test]
fn vip_nightly_on_slurm_ends_in_the_local_states_and_a_cancelled_job_is_fail() {
    let slurm = Slurm::start();
    let inbox = Inbox::new();
    let work = inbox.work();
    let o = inbox
        .nightly(&["--scheduler", "slurm"])
        .env("SLURM_CONF", slurm.conf())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    inbox.check_outcome(&String::from_utf8_lossy(&o.stdout));
    // one Slurm job per product, its id in the queue line
    let lines = std::fs::read_to_string(work.join("queue/SITEB.queue")).unwrap();
    let jobs: Vec<&str> = lines
        .lines()
        .map(|l| l.split_whitespace().nth(4).unwrap())
        .collect();
    assert_eq!(jobs.len(), 3);
    assert!(jobs.iter().all(|j| j.parse::<u32>().is_ok()), "{lines}");

    // scancel of a product's job: that product is FAIL, the site's next date waits (QUEUED)
    let mut ids = Vec::new();
    for date in ["2024-03-21", "2024-03-23"] {
        let l1a = simulate(&inbox.root.join(format!("sim-late-{date}")), "SITEB", date);
        deliver(&l1a, &inbox.root.join("inbox"));
        ids.push(l1a.file_stem().unwrap().to_str().unwrap().to_string());
    }
    let child = inbox
        .nightly(&["--scheduler", "slurm"])
        .env("SLURM_CONF", slurm.conf())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let job = loop {
        let o = slurm
            .cmd("squeue")
            .args(["-h", "-n", "vip-SITEB-20240321", "-o", "%i"])
            .output()
            .unwrap();
        let j = String::from_utf8_lossy(&o.stdout).trim().to_string();
        if !j.is_empty() {
            break j;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the job never came"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(slurm.cmd("scancel").arg(&job).status().unwrap().success());
    let o = child.wait_with_output().unwrap();
    let summary = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let b = queue(&work, "SITEB");
    assert!(
        b.contains(&(ids[0].clone(), "FAIL".into())),
        "{b:?}\n{summary}"
    );
    assert!(
        b.contains(&(ids[1].clone(), "QUEUED".into())),
        "{b:?}\n{summary}"
    );
    assert!(
        summary.contains(&format!("FAIL {}: Slurm job {job} cancelled", ids[0])),
        "{summary}"
    );
    assert!(
        summary.contains("SITEB: QUEUED 1 RUNNING 0 DONE 3 FAIL 1"),
        "{summary}"
    );
}

/// An archive that cannot take a package: the product is retried, then FAIL naming the archive,
/// and kept in the work folder; once the archive is fixed, a requeue only archives it.
#[test]
fn vip_nightly_keeps_a_product_it_cannot_archive() {
    let tmp = tempfile::tempdir().unwrap();
    let (inbox, work, sites, archive) = (
        tmp.path().join("inbox"),
        tmp.path().join("work"),
        tmp.path().join("sites"),
        tmp.path().join("archive"),
    );
    std::fs::create_dir_all(&inbox).unwrap();
    let scene = tmp.path().join("sim");
    let l1a = simulate(&scene, "ARCH", "2024-06-01");
    deliver(&l1a, &inbox);
    let id = l1a.file_stem().unwrap().to_str().unwrap().to_string();
    stock_site(&scene, &sites, "ARCH", &["GIPP", "DEM.tif"]);
    // the site's archive folder cannot be made: a file stands in its place
    std::fs::create_dir_all(&archive).unwrap();
    std::fs::write(archive.join("ARCH"), "in the way").unwrap();
    let nightly = || {
        let mut c = script("vip-nightly");
        c.arg("--inbox").arg(&inbox).arg("--work").arg(&work);
        c.arg("--archive").arg(&archive).arg("--sites").arg(&sites);
        c.args(["--retries", "1", "--threads", "1"]);
        c
    };
    let o = nightly().output().unwrap();
    let summary = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        summary.contains("ARCH: QUEUED 0 RUNNING 0 DONE 0 FAIL 1"),
        "{summary}"
    );
    assert!(
        summary.contains(&format!(
            "{}: cannot archive",
            archive.join("ARCH").display()
        )),
        "{summary}"
    );
    let history = std::fs::read_to_string(work.join("history")).unwrap();
    assert_eq!(
        history.lines().filter(|l| l.ends_with(" 5")).count(),
        2,
        "{history}"
    );
    assert!(work.join("products/ARCH").join(&id).join("DIST").is_dir());

    std::fs::remove_file(archive.join("ARCH")).unwrap();
    let o = script("vip-nightly")
        .arg("--work")
        .arg(&work)
        .args(["--requeue", &id])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let logs = work.join("products/ARCH/logs").join(&id);
    let before = std::fs::metadata(logs.join("1-straylight.log"))
        .unwrap()
        .modified()
        .unwrap();
    let o = nightly().output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(std::fs::read_dir(archive.join("ARCH")).unwrap().count(), 1);
    // archived without running the chain again
    let after = std::fs::metadata(logs.join("1-straylight.log"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
}

/// `--plan` from vip-bench rows: the closed form of its arithmetic.
#[test]
fn vip_nightly_plan_from_bench_rows() {
    let tmp = tempfile::tempdir().unwrap();
    // the rows vip-bench writes (name, reference, wall s, peak MB), reference scene figures
    std::fs::write(
        tmp.path().join("times"),
        "vip-sim - 93 500\nvip-l1 gdalwarp-rpc 40.4 900\ngdalwarp-rpc - 113 300\n\
         vip-maccs-l2 gdal-sre-fre 19.5 690\nvip-pack gdal-cog-zip 146 600\n\
         vip-straylight copy-12-bands 12.9 1400\n",
    )
    .unwrap();
    let o = script("vip-nightly")
        .args([
            "--plan",
            "--scenes-per-day",
            "1000",
            "--jobs",
            "4",
            "--bench",
        ])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let plan = String::from_utf8_lossy(&o.stdout);
    // 12.9 + 40.4 + 19.5 + 146 = 218.8 s a scene on 2 threads; 1000 scenes: 121.56 core-hours;
    // jobs = ceil(1000 × 218.8 / (86400 / 1.25)) = ceil(3.166) = 4, so 8 cores and 4 × 1400 MB
    assert!(plan.contains("per scene: 218.8 s on 2 threads"), "{plan}");
    assert!(plan.contains("121.56 core-hours a day"), "{plan}");
    assert!(plan.contains("4 jobs side by side = 8 cores"), "{plan}");
    assert!(plan.contains("4 x 1400 MB = 5.5 GB"), "{plan}");
    assert!(
        plan.contains("about 54700 s (250 rounds of 218.8 s)"),
        "{plan}"
    );
}

/// `--plan` from a production work folder predicts the run it measured: the wall time of a
/// clean nightly run of four small products, two sites side by side, within 40 % (the steps'
/// own times leave out the driver's and vip-chain's overhead: process starts, queue updates,
/// archive copies).
#[test]
fn vip_nightly_plan_matches_a_measured_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (inbox, work, sites) = (
        tmp.path().join("inbox"),
        tmp.path().join("work"),
        tmp.path().join("sites"),
    );
    std::fs::create_dir_all(&inbox).unwrap();
    for site in ["PLANA", "PLANB"] {
        for date in ["2024-05-01", "2024-05-03"] {
            let scene = tmp.path().join(format!("sim-{site}-{date}"));
            deliver(&simulate(&scene, site, date), &inbox);
            stock_site(&scene, &sites, site, &["GIPP", "DEM.tif"]);
        }
    }
    let archive = tmp.path().join("archive");
    let start = Instant::now();
    let o = script("vip-nightly")
        .arg("--inbox")
        .arg(&inbox)
        .arg("--work")
        .arg(&work)
        .arg("--archive")
        .arg(&archive)
        .arg("--sites")
        .arg(&sites)
        .args(["--jobs", "2", "--threads", "1"])
        .output()
        .unwrap();
    let measured = start.elapsed().as_secs_f64();
    assert!(o.status.success(), "{}", text(&o));
    let o = script("vip-nightly")
        .args(["--plan", "--scenes-per-day", "4", "--jobs", "2", "--work"])
        .arg(&work)
        .arg("--archive")
        .arg(&archive)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let plan = String::from_utf8_lossy(&o.stdout);
    assert!(plan.contains("(4 measured products)"), "{plan}");
    let predicted: f64 = plan
        .split("with --jobs 2: about ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no run time in the plan:\n{plan}"));
    assert!(
        (predicted - measured).abs() <= 0.4 * measured,
        "plan {predicted} s, measured {measured:.1} s\n{plan}"
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
