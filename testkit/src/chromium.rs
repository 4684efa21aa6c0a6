//! Static pages opened in headless Chromium (Debian's `chromium`, installed by scripts/test;
//! `$VIP_CHROMIUM` names another binary): the page renders and every image it shows loads.

use std::path::Path;
use std::process::Command;

/// Chromium's flags for a headless run that touches nothing outside `profile`.
pub fn chromium(profile: &Path) -> Command {
    let bin = std::env::var_os("VIP_CHROMIUM").unwrap_or_else(|| "chromium".into());
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1200,1600",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

/// Runs `c` (a [`chromium`] command); it must succeed. Returns its stdout.
pub fn chromium_out(mut c: Command) -> String {
    let out = c
        .output()
        .expect("chromium is missing: scripts/test installs Debian's chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One `<img>` of a page as Chromium loaded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedImage {
    /// The `src` attribute, as written in the page.
    pub src: String,
    /// The size the browser decoded (`naturalWidth` × `naturalHeight`): 0 × 0 when it did not
    /// load.
    pub width: u32,
    pub height: u32,
}

/// Opens the HTML page `page` in Chromium and returns its `<img>` elements in document order.
/// The page must hold no script; a copy of it with a probe script is dumped (`--dump-dom`): once
/// the page has loaded, the probe lists each image's natural size and `src` in a `<pre>` of its
/// own. The copy is a hidden file beside the page (so that relative links resolve), removed
/// afterwards.
pub fn loaded_images(page: &Path) -> Vec<LoadedImage> {
    const PROBE_ID: &str = "vip-image-probe";
    let html = std::fs::read_to_string(page).unwrap();
    assert!(!html.contains("<script"), "{} has a script", page.display());
    assert!(
        html.contains("</body>"),
        "{} has no </body>",
        page.display()
    );
    let probe = html.replace(
        "</body>",
        &format!(
            "<script>window.addEventListener('load', () => {{ const p = \
             document.createElement('pre'); p.id = '{PROBE_ID}'; p.textContent = \
             Array.from(document.images, i => i.naturalWidth + ' ' + i.naturalHeight + ' ' + \
             i.getAttribute('src')).join('\\n'); document.body.appendChild(p); }});</script>\n</body>"
        ),
    );
    let name = page.file_name().unwrap().to_string_lossy();
    let probe_page = page.with_file_name(format!(".probe-{name}"));
    std::fs::write(&probe_page, probe).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let mut c = chromium(profile.path());
    c.args(["--virtual-time-budget=10000", "--dump-dom"])
        .arg(format!("file://{}", probe_page.display()));
    let dom = chromium_out(c);
    std::fs::remove_file(&probe_page).unwrap();
    let open = format!("<pre id=\"{PROBE_ID}\">");
    let Some(start) = dom.find(&open).map(|i| i + open.len()) else {
        panic!(
            "the page {} did not finish loading in Chromium:\n{dom}",
            page.display()
        );
    };
    let text = &dom[start..start + dom[start..].find("</pre>").unwrap()];
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let mut f = l.splitn(3, ' ');
            let mut size = || f.next().unwrap().parse::<u32>().unwrap();
            let (width, height) = (size(), size());
            LoadedImage {
                src: f.next().unwrap().to_string(),
                width,
                height,
            }
        })
        .collect()
}
