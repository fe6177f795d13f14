//! Hostile files, generated here: truncated at every byte (so at every IFD boundary), bogus
//! values in every IFD field, offsets and strip byte counts past the end of the file,
//! zero-length strips, cyclic IFD chains, metadata that disagree with the pages, and declared
//! dimensions needing terabytes. Each must give an `Err` (or, for a change the reader cannot
//! see, exactly the original voxels) within a second, without panicking; the huge ones must
//! be refused before anything is allocated, which a child process's peak memory shows.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::tiffgen::{formula_plane, tiff_bytes, Codec, Sample, Spec};
use leukotrack::{Error, Recording, Shape, Volume};

/// Longest a refusal (or a read of these tiny files) may take.
const QUICK: Duration = Duration::from_secs(1);

/// A temporary folder, in memory when the system has `/dev/shm` (thousands of small files
/// are written).
fn scratch() -> tempfile::TempDir {
    match Path::new("/dev/shm").is_dir() {
        true => tempfile::tempdir_in("/dev/shm").unwrap(),
        false => tempfile::tempdir().unwrap(),
    }
}

/// Opens `path` and reads every (t, c) volume.
fn load(path: &Path) -> leukotrack::Result<(Shape, Vec<Volume>)> {
    let rec = Recording::open(path)?;
    let s = rec.shape();
    let mut vols = Vec::with_capacity(s.t * s.c);
    for t in 0..s.t {
        for c in 0..s.c {
            vols.push(rec.volume(t, c)?);
        }
    }
    Ok((s, vols))
}

/// Writes `bytes` to `path`, loads it and checks the time taken.
fn attempt(path: &Path, bytes: &[u8], what: &str) -> leukotrack::Result<(Shape, Vec<Volume>)> {
    std::fs::write(path, bytes).unwrap();
    let t0 = Instant::now();
    let r = load(path);
    assert!(t0.elapsed() < QUICK, "{what}: took {:?}", t0.elapsed());
    if let Err(e) = &r {
        // Every refusal names the file.
        let name = path.file_name().unwrap().to_string_lossy();
        assert!(e.to_string().contains(&*name), "{what}: {e}");
    }
    r
}

/// The positions of a little-endian TIFF's (classic or BigTIFF) IFDs and their entries.
struct Ifd {
    at: usize,
    entries: Vec<usize>,
    next_at: usize,
}

struct Layout {
    big: bool,
    ifds: Vec<Ifd>,
}

impl Layout {
    fn of(b: &[u8]) -> Layout {
        let big = b[2] == 43;
        let mut off = if big { rd(b, 8, 8) } else { rd(b, 4, 4) } as usize;
        let mut ifds = Vec::new();
        while off != 0 {
            let (n, head, size) = if big { (rd(b, off, 8), 8, 20) } else { (rd(b, off, 2), 2, 12) };
            let entries = (0..n as usize).map(|i| off + head + i * size).collect();
            let next_at = off + head + n as usize * size;
            ifds.push(Ifd { at: off, entries, next_at });
            off = if big { rd(b, next_at, 8) } else { rd(b, next_at, 4) } as usize;
        }
        Layout { big, ifds }
    }
    /// Width of an offset field.
    fn w(&self) -> usize {
        if self.big {
            8
        } else {
            4
        }
    }
    /// The entry of `tag` in IFD `ifd`.
    fn entry(&self, b: &[u8], ifd: usize, tag: u16) -> usize {
        *self.ifds[ifd]
            .entries
            .iter()
            .find(|&&e| rd(b, e, 2) == tag as u64)
            .unwrap_or_else(|| panic!("tag {tag} not in IFD {ifd}"))
    }
    /// Where the count and the value (or value offset) of entry `e` are.
    fn count_at(&self, e: usize) -> usize {
        e + 4
    }
    fn value_at(&self, e: usize) -> usize {
        e + 4 + self.w()
    }
    /// Positions and width of the LONG/LONG8 array of an entry (inline or not).
    fn array(&self, b: &[u8], e: usize) -> Vec<(usize, usize)> {
        let typ = rd(b, e + 2, 2);
        let size = if typ == 16 { 8 } else { 4 };
        let n = rd(b, self.count_at(e), self.w()) as usize;
        let start = if n * size <= self.w() {
            self.value_at(e)
        } else {
            rd(b, self.value_at(e), self.w()) as usize
        };
        (0..n).map(|i| (start + i * size, size)).collect()
    }
}

fn rd(b: &[u8], at: usize, n: usize) -> u64 {
    let mut a = [0u8; 8];
    a[..n].copy_from_slice(&b[at..at + n]);
    u64::from_le_bytes(a)
}

fn wr(b: &mut [u8], at: usize, n: usize, v: u64) {
    b[at..at + n].copy_from_slice(&v.to_le_bytes()[..n]);
}

fn imagej(c: usize, z: usize, t: usize) -> String {
    format!(
        "ImageJ=1.54f\nimages={}\nchannels={c}\nslices={z}\nframes={t}\nhyperstack=true\nunit=micron\nspacing=3\nfinterval=30\n",
        c * z * t
    )
}

/// The pages of a (t, c, z) hyperstack in ImageJ's order, h × w.
fn stack(t: usize, c: usize, z: usize, h: usize, w: usize) -> Vec<Vec<f64>> {
    let mut pages = Vec::new();
    for ti in 0..t {
        for ci in 0..c {
            for zi in 0..z {
                pages.push(formula_plane(ti, ci, zi, h, w));
            }
        }
    }
    pages
}

/// Small valid files of every structure the hostile variants start from.
fn bases() -> Vec<(&'static str, Vec<u8>)> {
    let hyper = Spec { description: Some(imagej(2, 2, 2)), ..Spec::default() };
    let ome = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\" UUID=\"urn:uuid:h\"><Image ID=\"Image:0\"><Pixels ID=\"Pixels:0\" DimensionOrder=\"XYZCT\" Type=\"uint16\" SizeX=\"8\" SizeY=\"6\" SizeZ=\"2\" SizeC=\"1\" SizeT=\"2\"><Channel ID=\"Channel:0:0\" SamplesPerPixel=\"1\"/><TiffData IFD=\"0\" PlaneCount=\"4\"/></Pixels></Image></OME>";
    vec![
        ("imagej.tif", tiff_bytes(&hyper, &stack(2, 2, 2, 6, 8))),
        (
            "deflate_strips.tif",
            tiff_bytes(
                &Spec { codec: Codec::Deflate, rows_per_strip: 2, ..hyper.clone() },
                &stack(2, 2, 2, 6, 8),
            ),
        ),
        (
            "big_lzw_tiles.tif",
            tiff_bytes(
                &Spec {
                    bigtiff: true,
                    codec: Codec::Lzw,
                    tile: Some((16, 16)),
                    width: 20,
                    height: 6,
                    sample: Sample::U8,
                    description: Some(imagej(1, 3, 1)),
                    ..Spec::default()
                },
                &stack(1, 1, 3, 6, 20),
            ),
        ),
        (
            "ome.ome.tif",
            tiff_bytes(
                &Spec { description: Some(ome.into()), codec: Codec::PackBits, ..Spec::default() },
                &stack(2, 1, 2, 6, 8),
            ),
        ),
    ]
}

#[test]
fn truncated_at_every_byte_is_refused_or_read_exactly() {
    let dir = scratch();
    let mut files = 0;
    for (name, full) in bases() {
        let path = dir.path().join(name);
        let want = attempt(&path, &full, name).unwrap();
        let layout = Layout::of(&full);
        // Cut at every IFD boundary: the chain cannot be complete, so always an error.
        for ifd in &layout.ifds {
            for cut in [ifd.at, ifd.at + 1, ifd.next_at, ifd.next_at + layout.w()] {
                if cut < full.len() {
                    let r = attempt(&path, &full[..cut], name);
                    assert!(r.is_err(), "{name} cut at IFD boundary {cut}: {:?}", r.map(|x| x.0));
                    files += 1;
                }
            }
        }
        // Cut at every byte: an error, or exactly the voxels of the whole file (never a
        // silently different recording).
        let mut refused = 0;
        for cut in 0..full.len() {
            match attempt(&path, &full[..cut], name) {
                Err(e) => {
                    assert!(
                        matches!(
                            e,
                            Error::Format { .. }
                                | Error::Page { .. }
                                | Error::Metadata { .. }
                                | Error::Frame { .. }
                        ),
                        "{name} cut at {cut}: {e:?}"
                    );
                    refused += 1;
                }
                Ok(got) => assert!(got == want, "{name} cut at {cut} reads differently"),
            }
            files += 1;
        }
        // The IFDs come last in these files: every cut loses part of one.
        assert_eq!(refused, full.len(), "{name}");
    }
    assert!(files > 2000, "{files} files");
}

#[test]
fn bogus_values_in_every_ifd_field_never_panic() {
    let dir = scratch();
    for (name, full) in bases() {
        let path = dir.path().join(name);
        let layout = Layout::of(&full);
        let len = full.len() as u64;
        let w = layout.w();
        let bogus = [0, 1, 2, 0xffff, 0x7fff_ffff, 0xffff_ffff, len - 1, len, len + 1, u64::MAX];
        for (k, ifd) in layout.ifds.iter().enumerate() {
            for &e in &ifd.entries {
                let tag = rd(&full, e, 2) as u16;
                // Type, count, value/offset.
                for (at, n) in [(e + 2, 2), (layout.count_at(e), w), (layout.value_at(e), w)] {
                    for &v in &bogus {
                        let mut b = full.clone();
                        wr(&mut b, at, n, v);
                        let what = format!("{name} IFD {k} tag {tag} field +{} = {v}", at - e);
                        let _ = attempt(&path, &b, &what);
                    }
                }
            }
            // The entry count and the next-IFD pointer.
            for &v in &bogus {
                let mut b = full.clone();
                wr(&mut b, ifd.at, if layout.big { 8 } else { 2 }, v);
                let r = attempt(&path, &b, &format!("{name} IFD {k} entry count {v}"));
                assert!(r.is_err() || v == rd(&full, ifd.at, 2), "{name} IFD {k} count {v}");
                let mut b = full.clone();
                wr(&mut b, ifd.next_at, w, v);
                let _ = attempt(&path, &b, &format!("{name} IFD {k} next {v}"));
            }
        }
        // Every strip or tile offset and byte count past the end of the file: refused at open.
        for k in 0..layout.ifds.len() {
            for tag in [273u16, 279, 324, 325] {
                let Some(&e) =
                    layout.ifds[k].entries.iter().find(|&&e| rd(&full, e, 2) == tag as u64)
                else {
                    continue;
                };
                for (at, size) in layout.array(&full, e) {
                    for v in [len, len + 1, 0xffff_fff0, u32::MAX as u64] {
                        let mut b = full.clone();
                        wr(&mut b, at, size, v);
                        let what = format!("{name} IFD {k} tag {tag} = {v}");
                        let e = attempt(&path, &b, &what).unwrap_err();
                        assert!(matches!(e, Error::Page { page, .. } if page == k), "{what}: {e}");
                        assert!(e.to_string().contains("past the end"), "{what}: {e}");
                    }
                }
            }
        }
    }
}

#[test]
fn zero_length_and_overlong_strips_are_refused() {
    let dir = scratch();
    let path = dir.path().join("strips.tif");
    for codec in [Codec::None, Codec::Deflate, Codec::Lzw, Codec::PackBits] {
        let spec = Spec {
            codec,
            rows_per_strip: 2,
            description: Some(imagej(1, 2, 1)),
            ..Spec::default()
        };
        let full = tiff_bytes(&spec, &stack(1, 1, 2, 6, 8));
        let layout = Layout::of(&full);
        for k in 0..2 {
            let e = layout.entry(&full, k, 279);
            for (i, (at, size)) in layout.array(&full, e).into_iter().enumerate() {
                let mut b = full.clone();
                wr(&mut b, at, size, 0);
                let what = format!("{codec:?} page {k} strip {i} empty");
                let e = attempt(&path, &b, &what).unwrap_err();
                assert!(e.to_string().contains(&format!("strip {i} is empty")), "{what}: {e}");
                // A byte count reaching past the end of the file.
                let mut b = full.clone();
                let off = rd(&full, layout.array(&full, layout.entry(&full, k, 273))[i].0, 4);
                wr(&mut b, at, size, full.len() as u64 - off + 1);
                let what = format!("{codec:?} page {k} strip {i} count past EOF");
                let e = attempt(&path, &b, &what).unwrap_err();
                assert!(e.to_string().contains("past the end of the file"), "{what}: {e}");
            }
        }
    }
}

#[test]
fn cyclic_ifd_chains_are_refused() {
    let dir = scratch();
    let path = dir.path().join("cycle.tif");
    for bigtiff in [false, true] {
        let full = tiff_bytes(&Spec { bigtiff, ..Spec::default() }, &stack(1, 1, 4, 6, 8));
        let layout = Layout::of(&full);
        let w = layout.w();
        for i in 0..4 {
            for j in 0..=i {
                let mut b = full.clone();
                wr(&mut b, layout.ifds[i].next_at, w, layout.ifds[j].at as u64);
                let e = attempt(&path, &b, &format!("{i} -> {j}")).unwrap_err();
                assert!(e.to_string().contains("loops back"), "{i} -> {j}: {e}");
            }
            // Into the middle of an IFD or the header: garbage entries, never a hang.
            for target in [layout.ifds[i].at + 2, 0, 4] {
                let mut b = full.clone();
                wr(&mut b, layout.ifds[i].next_at, w, target as u64);
                let _ = attempt(&path, &b, &format!("{i} -> byte {target}"));
            }
        }
    }
}

#[test]
fn metadata_disagreeing_with_the_pages_are_refused() {
    let dir = scratch();
    let ome = |attrs: &str, inner: &str| {
        format!("<?xml version=\"1.0\"?><OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\"><Image ID=\"Image:0\"><Pixels ID=\"Pixels:0\" DimensionOrder=\"XYZCT\" {attrs}><Channel ID=\"Channel:0:0\"/>{inner}</Pixels></Image></OME>")
    };
    let cases: Vec<(&str, String, usize, &str)> = vec![
        ("ij.tif", "ImageJ=1.54f\nimages=8\nchannels=2\nslices=2\nframes=3\n".into(), 8, "images=8"),
        ("ij.tif", "ImageJ=1.54f\nimages=8\nchannels=2\nslices=2\nframes=2\n".into(), 6, "8 images"),
        ("ij.tif", "ImageJ=1.54f\nimages=4\nslices=4\n".into(), 6, "4 images"),
        ("ij.tif", "ImageJ=1.54f\nimages=4\nslices=4\norder=xyz\n".into(), 4, "order"),
        ("ij.tif", "ImageJ=1.54f\nimages=100000\nslices=100000\n".into(), 1, "past the end"),
        ("o.ome.tif", ome("Type=\"uint16\" SizeX=\"8\" SizeY=\"6\" SizeZ=\"5\" SizeC=\"1\" SizeT=\"1\"", ""), 4, "hold only 4 pages"),
        ("o.ome.tif", ome("Type=\"float\" SizeX=\"8\" SizeY=\"6\" SizeZ=\"4\" SizeC=\"1\" SizeT=\"1\"", ""), 4, "float"),
        ("o.ome.tif", ome("Type=\"uint16\" SizeX=\"8\" SizeY=\"7\" SizeZ=\"4\" SizeC=\"1\" SizeT=\"1\"", ""), 4, "SizeY=7"),
        ("o.ome.tif", ome("Type=\"uint16\" SizeX=\"8\" SizeY=\"6\" SizeZ=\"2\" SizeC=\"2\" SizeT=\"1\"", "<TiffData IFD=\"100\" PlaneCount=\"4\"/>"), 4, "IFD"),
        ("o.ome.tif", ome("Type=\"uint16\" SizeX=\"8\" SizeY=\"6\" SizeZ=\"2\" SizeC=\"2\" SizeT=\"1\"", "<TiffData FirstC=\"5\"/>"), 4, "FirstC"),
        ("o.ome.tif", ome("Type=\"uint16\" SizeX=\"8\" SizeY=\"6\" SizeZ=\"2\" SizeC=\"2\" SizeT=\"1\"", "<TiffData><UUID FileName=\"missing.ome.tif\">urn:uuid:m</UUID></TiffData>"), 4, "missing.ome.tif"),
        ("o.ome.tif", ome("Type=\"uint16\" SizeX=\"8\" SizeY=\"6\" SizeZ=\"-2\" SizeC=\"2\" SizeT=\"1\"", ""), 4, "SizeZ"),
        ("o.ome.tif", "<?xml version=\"1.0\"?><OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\"><Image><Pixels SizeX=\"8\">".into(), 4, "OME"),
    ];
    for (name, desc, pages, why) in cases {
        let path = dir.path().join(name);
        let spec = Spec { description: Some(desc.clone()), ..Spec::default() };
        let bytes = tiff_bytes(&spec, &stack(1, 1, pages, 6, 8));
        let e = attempt(&path, &bytes, &desc).unwrap_err();
        assert!(
            matches!(e, Error::Metadata { .. } | Error::Io { .. } | Error::Format { .. }),
            "{desc}: {e:?}"
        );
        assert!(e.to_string().contains(why), "{desc}: {e}");
    }
}

/// Declared dimensions needing terabytes, each refused at open.
fn huge_files(dir: &Path) -> Vec<(std::path::PathBuf, &'static str)> {
    let mut out = Vec::new();
    let mut put = |name: &str, bytes: Vec<u8>, why: &'static str| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        out.push((p, why));
    };
    let one = |spec: &Spec| tiff_bytes(spec, &stack(1, 1, 1, 6, 8));
    // 100000 × 100000 pixels: uint16 (20 GB a plane), uint8 uncompressed (10 GB in 48
    // bytes of strips), Deflate (10 GB in a few bytes), tiles.
    let patch = |mut b: Vec<u8>, tags: &[(u16, u64)]| {
        let layout = Layout::of(&b);
        for &(tag, v) in tags {
            let e = layout.entry(&b, 0, tag);
            wr(&mut b, layout.value_at(e), 4, v);
        }
        b
    };
    let wh = [(256, 100_000), (257, 100_000)];
    put("u16.tif", patch(one(&Spec::default()), &wh), "too large");
    let u8s = Spec { sample: Sample::U8, ..Spec::default() };
    put("u8.tif", patch(one(&u8s), &[(256, 100_000), (257, 100_000), (278, 100_000)]), "needs");
    let deflate = Spec { sample: Sample::U8, codec: Codec::Deflate, ..Spec::default() };
    put(
        "deflate.tif",
        patch(one(&deflate), &[(256, 100_000), (257, 100_000), (278, 100_000)]),
        "far larger",
    );
    let tiled = Spec { sample: Sample::U8, tile: Some((16, 16)), ..Spec::default() };
    put("tiles.tif", patch(one(&tiled), &wh), "strips or tiles");
    // 100000 × 100000 × 65535 pages declared by the metadata of a one-page file.
    let ij = "ImageJ=1.54f\nimages=6553500000\nchannels=1\nslices=65535\nframes=100000\n";
    let b = one(&Spec { description: Some(ij.into()), sample: Sample::U8, ..Spec::default() });
    put("ij_pages.tif", patch(b, &wh), "needs");
    let b = one(&Spec { description: Some(ij.into()), ..Spec::default() });
    put("ij_pages_small.tif", b, "past the end");
    let ome = "<?xml version=\"1.0\"?><OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\"><Image ID=\"Image:0\"><Pixels ID=\"Pixels:0\" DimensionOrder=\"XYZCT\" Type=\"uint16\" SizeX=\"100000\" SizeY=\"100000\" SizeZ=\"65535\" SizeC=\"1\" SizeT=\"100000\"><Channel ID=\"Channel:0:0\"/></Pixels></Image></OME>";
    put("o.ome.tif", one(&Spec { description: Some(ome.into()), ..Spec::default() }), "plausible");
    // An IFD declaring 2^40 entries (BigTIFF) and strip offsets declaring 2^32 - 1 values.
    let mut b = one(&Spec { bigtiff: true, ..Spec::default() });
    let at = Layout::of(&b).ifds[0].at;
    wr(&mut b, at, 8, 1 << 40);
    put("tags.tif", b, "tags");
    let mut b = one(&Spec::default());
    let layout = Layout::of(&b);
    let e = layout.entry(&b, 0, 273);
    wr(&mut b, layout.count_at(e), 4, u32::MAX as u64);
    put("counts.tif", b, "strips or tiles");
    out
}

#[test]
fn huge_declared_dimensions_are_refused_quickly() {
    let dir = scratch();
    for (path, why) in huge_files(dir.path()) {
        let bytes = std::fs::read(&path).unwrap();
        let e = attempt(&path, &bytes, why).unwrap_err();
        assert!(e.to_string().contains(why), "{}: {e}", path.display());
    }
}

/// Peak resident memory of this process (kB), from /proc/self/status.
#[cfg(target_os = "linux")]
fn peak_rss_kb() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = s.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Run by `huge_declared_dimensions_use_no_memory` in a child process: opens the files
/// listed in `LEUKOTRACK_HOSTILE_OPEN` (one per line) and prints its own peak memory.
#[cfg(target_os = "linux")]
#[test]
fn child_opens_listed_files() {
    let Ok(list) = std::env::var("LEUKOTRACK_HOSTILE_OPEN") else { return };
    for p in list.lines() {
        let ok = load(Path::new(p)).is_ok();
        println!("opened {p}: {ok}");
    }
    println!("peak_rss_kb={}", peak_rss_kb());
}

#[cfg(target_os = "linux")]
fn child_peak_kb(files: &[&Path]) -> u64 {
    let list = files.iter().map(|p| p.to_string_lossy()).collect::<Vec<_>>().join("\n");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["child_opens_listed_files", "--exact", "--nocapture", "--test-threads=1"])
        .env("LEUKOTRACK_HOSTILE_OPEN", list)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let kb = stdout.lines().find_map(|l| l.strip_prefix("peak_rss_kb=")).expect("child's peak");
    kb.trim().parse().unwrap()
}

/// The huge files are refused before any allocation their dimensions ask for: the peak
/// memory of a child process opening all of them is within a few MB of one opening a small
/// valid file (their planes alone would need 10–20 GB each).
#[cfg(target_os = "linux")]
#[test]
fn huge_declared_dimensions_use_no_memory() {
    let dir = scratch();
    let files = huge_files(dir.path());
    let small = dir.path().join("small.tif");
    std::fs::write(&small, tiff_bytes(&Spec::default(), &stack(1, 1, 2, 6, 8))).unwrap();
    let base = child_peak_kb(&[&small]);
    let paths: Vec<&Path> = files.iter().map(|(p, _)| p.as_path()).collect();
    let huge = child_peak_kb(&paths);
    eprintln!("peak RSS: small file {base} kB, {} huge files {huge} kB", paths.len());
    assert!(huge < base + 16 * 1024, "small file {base} kB, huge files {huge} kB");
}

/// OME files naming other files: a device or a file outside the dataset's folder is refused
/// (reading `/dev/zero` as metadata would never end).
#[test]
fn ome_references_outside_the_folder_or_to_devices_are_refused() {
    let dir = scratch();
    let path = dir.path().join("ref.ome.tif");
    let pixels = "<Pixels ID=\"Pixels:0\" DimensionOrder=\"XYZCT\" Type=\"uint16\" SizeX=\"8\" SizeY=\"6\" SizeZ=\"2\" SizeC=\"1\" SizeT=\"1\"><Channel ID=\"Channel:0:0\"/>";
    let cases = [
        String::from("<OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\"><BinaryOnly MetadataFile=\"/dev/zero\" UUID=\"urn:uuid:c\"/></OME>"),
        String::from("<OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\"><BinaryOnly MetadataFile=\"../ref.companion.ome\" UUID=\"urn:uuid:c\"/></OME>"),
        format!("<OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\"><Image ID=\"Image:0\">{pixels}<TiffData IFD=\"0\" PlaneCount=\"1\"/><TiffData FirstZ=\"1\" IFD=\"0\" PlaneCount=\"1\"><UUID FileName=\"/dev/zero\">urn:uuid:z</UUID></TiffData></Pixels></Image></OME>"),
        format!("<OME xmlns=\"http://www.openmicroscopy.org/Schemas/OME/2016-06\"><Image ID=\"Image:0\">{pixels}<TiffData IFD=\"0\" PlaneCount=\"1\"/><TiffData FirstZ=\"1\" IFD=\"0\" PlaneCount=\"1\"><UUID FileName=\"../ref.ome.tif\">urn:uuid:z</UUID></TiffData></Pixels></Image></OME>"),
    ];
    for desc in cases {
        let spec = Spec { description: Some(desc.clone()), ..Spec::default() };
        let e = attempt(&path, &tiff_bytes(&spec, &stack(1, 1, 2, 6, 8)), &desc).unwrap_err();
        assert!(matches!(e, Error::Metadata { .. }), "{desc}: {e:?}");
    }
}

/// Inputs that made the reader panic (found by reading the code and by `fuzz/`); each must
/// now be an error.
#[test]
fn former_crashes_are_errors() {
    let dir = scratch();
    let path = dir.path().join("crash.tif");
    // ImageJ `images=0` on a one-page file: an empty stack whose first plane was indexed.
    let spec = Spec { description: Some("ImageJ=1.54f\nimages=0\n".into()), ..Spec::default() };
    let e = attempt(&path, &tiff_bytes(&spec, &stack(1, 1, 1, 6, 8)), "images=0").unwrap_err();
    assert!(e.to_string().contains("empty recording"), "{e}");
}
