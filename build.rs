//! Stamps `buildVersion` (`/system/info`): the commit time as `YYMMDDHH`
//! (UTC) when built from git, else `SOURCE_DATE_EPOCH`, else `00000000`.
//! Reproducible: it never uses the wall clock.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .or_else(|| {
            let out = Command::new("git")
                .args(["log", "-1", "--format=%ct"])
                .output()
                .ok()?;
            String::from_utf8(out.stdout)
                .ok()?
                .trim()
                .parse::<i64>()
                .ok()
        });
    let stamp = epoch
        .map(yymmddhh)
        .unwrap_or_else(|| "00000000".to_string());
    println!("cargo:rustc-env=VP2730_BUILD_VERSION={stamp}");
}

/// Civil date from Unix seconds (Howard Hinnant's days-from-civil inverse).
fn yymmddhh(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let hour = secs.rem_euclid(86_400) / 3600;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{:02}{:02}{:02}{:02}", year % 100, month, day, hour)
}
