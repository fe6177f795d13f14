//! Series of TIFF files: a folder, or a glob pattern, of files each holding one or more
//! timepoints (typically one z-stack per timepoint, as many acquisition programs write).
//!
//! Files are taken in natural order (`t2` before `t10`); each is opened as a recording of its
//! own (ImageJ, OME, plain…) and the timepoints are concatenated. Every file must have the
//! same channels, planes, plane size and pixel type; calibration comes from the first file.
//! An empty folder, a pattern matching nothing, or files of different shapes are refused with
//! an error naming the folder or the first file that differs.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use super::{open_tiff, Format, Layout, PlaneRef, ReadOptions, MAX_OPEN_FILES};
use crate::error::{Error, Result};

/// Compares names in natural order: runs of digits compare as numbers (`t2` < `t10`), the
/// rest as text.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let na = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let nb = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (da, db) = (&a[..na], &b[..nb]);
                let ta = &da[da.iter().take_while(|&&c| c == b'0').count()..];
                let tb = &db[db.iter().take_while(|&&c| c == b'0').count()..];
                let ord =
                    ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb)).then_with(|| na.cmp(&nb));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[na..];
                b = &b[nb..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

/// Matches a file name against a glob pattern of `*`, `?` and `[…]` classes (`[!…]` negates).
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative matcher with backtracking to the last `*`.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        let step = if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' => Some(pi + 1),
                '[' => class_match(&p, pi, n[ni]),
                c => (c == n[ni]).then_some(pi + 1),
            }
        } else {
            None
        };
        match step {
            Some(next) => {
                pi = next;
                ni += 1;
            }
            None => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches `c` against the class starting at `p[start] == '['`; the index after the class.
fn class_match(p: &[char], start: usize, c: char) -> Option<usize> {
    let mut i = start + 1;
    let negate = i < p.len() && (p[i] == '!' || p[i] == '^');
    if negate {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    while i < p.len() && (p[i] != ']' || first) {
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            hit |= p[i] <= c && c <= p[i + 2];
            i += 3;
        } else {
            hit |= p[i] == c;
            i += 1;
        }
    }
    if i >= p.len() {
        // No closing bracket: a literal '['.
        return (c == '[').then_some(start + 1);
    }
    (hit != negate).then_some(i + 1)
}

fn is_tiff_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    !n.starts_with('.') && [".tif", ".tiff", ".tf8", ".tf2", ".btf"].iter().any(|e| n.ends_with(e))
}

fn list(dir: &Path, keep: impl Fn(&str) -> bool) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut names = Vec::new();
    for e in rd {
        let e = e.map_err(|e| Error::io(dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if keep(&name) && e.path().is_file() {
            names.push(name);
        }
    }
    names.sort_by(|a, b| natural_cmp(a, b));
    Ok(names.into_iter().map(|n| dir.join(n)).collect())
}

/// Opens every TIFF in `dir` as one timepoint series.
pub(crate) fn open_folder(dir: &Path, opts: &ReadOptions) -> Result<Layout> {
    let files = list(dir, is_tiff_name)?;
    if files.is_empty() {
        return Err(Error::format(dir, "the folder holds no TIFF files (.tif, .tiff)"));
    }
    open_files(dir, files, opts)
}

/// Opens the files matching a glob pattern (wildcards in the file name only).
pub(crate) fn open_glob(pattern: &Path, opts: &ReadOptions) -> Result<Layout> {
    let name = pattern.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let dir = pattern.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if dir.to_string_lossy().contains(['*', '?', '[']) {
        return Err(Error::param(
            "path",
            format!("`{}`: wildcards are allowed in the file name only", pattern.display()),
        ));
    }
    if !dir.is_dir() {
        return Err(Error::format(pattern, format!("folder `{}` does not exist", dir.display())));
    }
    let files = list(dir, |n| glob_match(&name, n))?;
    if files.is_empty() {
        return Err(Error::format(pattern, "no file matches the pattern"));
    }
    open_files(pattern, files, opts)
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// Concatenates the timepoints of `files`, checking they share one shape.
fn open_files(origin: &Path, files: Vec<PathBuf>, opts: &ReadOptions) -> Result<Layout> {
    let n = files.len();
    let mut per_file = ReadOptions { voxel_size: None, frame_interval_s: None, ..opts.clone() };
    if let Some((t, c, z)) = opts.shape {
        if t % n != 0 {
            return Err(Error::param(
                "shape",
                format!("T={t} is not a multiple of the {n} files of {}", origin.display()),
            ));
        }
        per_file.shape = Some((t / n, c, z));
    }
    let mut out: Option<Layout> = None;
    for path in &files {
        let mut l = open_tiff(path, &per_file)?;
        if n > MAX_OPEN_FILES {
            l.files.iter_mut().for_each(|f| f.handle = None);
        }
        let Some(acc) = out.as_mut() else {
            // A folder holding one multi-file dataset (ScanImage parts, a multi-file OME-TIFF)
            // is that dataset, which its first file already spans.
            if l.files.len() > 1
                && files.iter().all(|f| l.files.iter().any(|s| same_file(&s.path, f)))
            {
                return Ok(l);
            }
            out = Some(l);
            continue;
        };
        let (a, b) = (acc.shape, l.shape);
        if (a.c, a.z, a.y, a.x) != (b.c, b.z, b.y, b.x) || acc.page.stored != l.page.stored {
            return Err(Error::format(
                path,
                format!(
                    "c={} z={} y={} x={} {} differs from the first file's c={} z={} y={} x={} {} ({}): a series needs files of one shape",
                    b.c, b.z, b.y, b.x, l.page.stored.name(),
                    a.c, a.z, a.y, a.x, acc.page.stored.name(),
                    files[0].display()
                ),
            ));
        }
        if l.calibration.voxel_x_um.map(|v| v.value) != acc.calibration.voxel_x_um.map(|v| v.value)
            || l.calibration.voxel_z_um.map(|v| v.value)
                != acc.calibration.voxel_z_um.map(|v| v.value)
        {
            let w = format!(
                "{} has a voxel size different from the first file's; the first file's is used",
                path.display()
            );
            acc.warnings.push(w);
        }
        let base = acc.files.len() as u32;
        acc.planes.extend(l.planes.iter().map(|r| PlaneRef { file: r.file + base, page: r.page }));
        acc.files.extend(l.files);
        acc.shape.t += b.t;
        for w in l.warnings {
            if !acc.warnings.contains(&w) {
                acc.warnings.push(w);
            }
        }
    }
    let Some(mut l) = out else {
        return Err(Error::format(origin, "the series holds no TIFF files"));
    };
    if n > 1 {
        l.format = Format::Series;
        l.calibration.frame_times_s = None;
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order() {
        let mut v = vec!["t10.tif", "t2.tif", "t1.tif", "t02b.tif", "a.tif", "t100.tif"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["a.tif", "t1.tif", "t2.tif", "t02b.tif", "t10.tif", "t100.tif"]);
        assert_eq!(natural_cmp("x007", "x7"), Ordering::Greater);
    }

    #[test]
    fn globs() {
        assert!(glob_match("stack_t*.tif", "stack_t12.tif"));
        assert!(!glob_match("stack_t*.tif", "stack_t12.tiff"));
        assert!(glob_match("t?.tif", "t1.tif"));
        assert!(!glob_match("t?.tif", "t10.tif"));
        assert!(glob_match("t[0-9]*", "t5x"));
        assert!(!glob_match("t[!0-9]*", "t5x"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("a*b*c", "aXbYbZc"));
    }
}
