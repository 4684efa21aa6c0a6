//! The repository is the whole product: no source file, script or test reaches outside it for
//! the reference material (schemas, examples, reference values are vendored; see
//! `lib/schemas/README.md` and `testdata/README.md`).

use std::path::Path;

/// Path fragments that would reach the reading-material folder beside the project.
const FORBIDDEN: [&str; 3] = [
    concat!("..", "/shared"),
    concat!("shared", "_reference("),
    concat!("shared", "/reference"),
];

fn scan(dir: &Path, hits: &mut Vec<String>, seen: &mut usize) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | ".git" | ".venv" | "node_modules") {
                scan(&path, hits, seen);
            }
            continue;
        }
        let source = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("rs" | "sh" | "py" | "toml" | "ksh")
        ) || path.starts_with(root().join("scripts"))
            || path.starts_with(root().join(".ci"));
        if !source {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        *seen += 1;
        for needle in FORBIDDEN {
            if text.contains(needle) {
                hits.push(format!("{}: {needle}", path.display()));
            }
        }
    }
}

fn root() -> std::path::PathBuf {
    vip_testkit::project_root().canonicalize().unwrap()
}

#[test]
fn no_source_file_builds_a_path_outside_the_repository() {
    let mut hits = Vec::new();
    let mut seen = 0;
    scan(&root(), &mut hits, &mut seen);
    assert!(
        seen > 100,
        "only {seen} source files found under {}",
        root().display()
    );
    assert!(
        hits.is_empty(),
        "paths outside the repository:\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_scan_sees_a_planted_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("x.rs"),
        format!("let p = \"{}/reference\";", FORBIDDEN[0]),
    )
    .unwrap();
    let mut hits = Vec::new();
    let mut seen = 0;
    scan(dir.path(), &mut hits, &mut seen);
    assert_eq!((seen, hits.len()), (1, 2), "{hits:?}");
}
